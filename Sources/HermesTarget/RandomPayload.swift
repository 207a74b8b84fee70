/// A preallocated buffer of pseudo-random bytes that every download is cut from, sent in a loop:
/// incompressible (no link compression can inflate a result) and never allocated per request.
public final class RandomPayload: Sendable {
    /// Shared by every connection of the process.
    public static let shared = RandomPayload(size: 1 << 20)

    public let size: Int
    // Written once in init, then only read: safe to share.
    nonisolated(unsafe) private let storage: UnsafeMutableRawBufferPointer

    public init(size: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
        self.size = max(8, size - size % 8)
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: self.size, alignment: 8)
        // SplitMix64: fast, and its output passes the usual statistical tests.
        var state = seed
        let words = storage.bindMemory(to: UInt64.self)
        for index in words.indices {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words[index] = (z ^ (z >> 31)).littleEndian
        }
    }

    deinit { storage.deallocate() }

    /// The bytes from `offset` (taken modulo the size) to the end of the buffer.
    public func bytes(from offset: Int64) -> UnsafeRawBufferPointer {
        let start = Int(offset % Int64(size))
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[start...])
    }
}
