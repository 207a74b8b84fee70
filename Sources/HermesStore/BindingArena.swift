import HermesCore

/// Holds the text of the rows being inserted until their statement has run, so that SQLite can
/// read it in place (SQLITE_STATIC). Bound with SQLITE_TRANSIENT, every text value was copied
/// into a buffer of its own, allocated and freed per value: half the writing thread's work per row.
///
/// Memory comes in chunks that never move, so a copy stays valid until `reset()`, and is reused
/// from one statement to the next. A non-copyable struct rather than a class: an append owns one
/// as a local, and the bump allocation then runs without dynamic exclusivity checks.
struct BindingArena: ~Copyable {
    private static let chunkSize = 64 * 1024

    private var chunks: [UnsafeMutablePointer<UInt8>] = []
    /// Texts longer than a chunk, each in its own allocation until `reset()`.
    private var oversized: [UnsafeMutablePointer<UInt8>] = []
    private var chunkIndex = -1
    private var next: UnsafeMutablePointer<UInt8>?
    private var remaining = 0

    init() {}

    deinit {
        for allocation in oversized { allocation.deallocate() }
        for chunk in chunks { chunk.deallocate() }
    }

    /// Forgets every copy: call it only once no statement will run with them again.
    mutating func reset() {
        for allocation in oversized { allocation.deallocate() }
        oversized.removeAll(keepingCapacity: true)
        chunkIndex = -1
        next = nil
        remaining = 0
    }

    /// `count` bytes that stay put until `reset()`.
    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        if count <= remaining, let start = next {
            next = start + count
            remaining -= count
            return start
        }
        if count > Self.chunkSize {
            let allocation = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
            oversized.append(allocation)
            return allocation
        }
        chunkIndex += 1
        if chunkIndex == chunks.count { chunks.append(.allocate(capacity: Self.chunkSize)) }
        let start = chunks[chunkIndex]
        next = start + count
        remaining = Self.chunkSize - count
        return start
    }

    mutating func copy(_ text: String) -> UnsafeBufferPointer<UInt8> {
        // Borrowed where the string keeps its UTF-8 (always, for Swift's own strings): a mutable
        // copy for withUTF8 would cost a retain and a release of each text.
        if let copied = text.utf8.withContiguousStorageIfAvailable({ copy($0) }) { return copied }
        var contiguous = text
        return contiguous.withUTF8 { copy($0) }
    }

    private mutating func copy(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        let destination = reserve(bytes.count)
        if let source = bytes.baseAddress { destination.initialize(from: source, count: bytes.count) }
        return UnsafeBufferPointer(start: destination, count: bytes.count)
    }

    mutating func copy(_ timestamp: Timestamp) -> UnsafeBufferPointer<UInt8> {
        let destination = reserve(Timestamp.rfc3339Length)
        timestamp.writeRFC3339(to: destination)
        return UnsafeBufferPointer(start: destination, count: Timestamp.rfc3339Length)
    }
}
