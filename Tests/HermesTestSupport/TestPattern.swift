import Glibc

/// The bytes every test body is made of: byte `i` of a body is `i % 251`. The period is prime,
/// so a chunk sent at the wrong offset or twice does not line up again by accident, and both
/// sides can produce or check any chunk with one `memcpy`/`memcmp` instead of a per-byte loop.
package enum TestPattern {
    package static let period = 251
    /// Long enough to serve any chunk of up to 1 MiB starting at any phase of the period.
    private static let bytes: [UInt8] = (0..<(period + (1 << 20))).map { UInt8($0 % period) }

    package static let maximumChunk = 1 << 20

    package static func fill(_ buffer: UnsafeMutableRawBufferPointer, from offset: Int64) {
        var written = 0
        while written < buffer.count {
            let count = min(buffer.count - written, maximumChunk)
            withChunk(at: offset + Int64(written), count: count) { chunk in
                UnsafeMutableRawBufferPointer(rebasing: buffer[written..<written + count]).copyMemory(
                    from: chunk)
            }
            written += count
        }
    }

    package static func matches(_ chunk: UnsafeRawBufferPointer, at offset: Int64) -> Bool {
        var checked = 0
        while checked < chunk.count {
            let count = min(chunk.count - checked, maximumChunk)
            let equal = withChunk(at: offset + Int64(checked), count: count) { expected in
                guard let actual = chunk.baseAddress, let expected = expected.baseAddress else {
                    return count == 0
                }
                return memcmp(actual + checked, expected, count) == 0
            }
            guard equal else { return false }
            checked += count
        }
        return true
    }

    package static func bytes(count: Int, from offset: Int64 = 0) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(UnsafeMutableRawBufferPointer(buffer), from: offset)
            initialized = count
        }
    }

    /// A pattern chunk of at most `maximumChunk` bytes as it appears at `offset` in a body.
    package static func withChunk<Result>(
        at offset: Int64,
        count: Int,
        _ body: (UnsafeRawBufferPointer) -> Result
    ) -> Result {
        let phase = Int(offset % Int64(period))
        return bytes.withUnsafeBytes { all in
            body(UnsafeRawBufferPointer(rebasing: all[phase..<phase + count]))
        }
    }
}
