import Glibc

/// A fixed set of object keys, kept as shared strings so that parsing an object with them does
/// not build them again.
///
/// `@unchecked Sendable`: written once in `init`, read-only after.
public final class KeyTable: @unchecked Sendable {
    private let slotCount: Int

    /// Open addressing on the FNV-1a hash of the name's bytes. Slot `i` holds the name's index + 1
    /// (0 is empty); `bytes` holds every name's UTF-8, at `offsets[index]`.
    private let slots: UnsafeMutablePointer<Int>
    private let hashes: UnsafeMutablePointer<UInt64>
    private let offsets: UnsafeMutablePointer<Int>
    private let lengths: UnsafeMutablePointer<Int>
    private let bytes: UnsafeMutablePointer<UInt8>
    private let strings: [String]

    public init(_ names: [String]) {
        strings = names
        // At most half full, a power of two so a mask picks the slot.
        var capacity = 16
        while capacity < names.count * 2 { capacity *= 2 }
        slotCount = capacity
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        hashes = .allocate(capacity: names.count)
        offsets = .allocate(capacity: names.count)
        lengths = .allocate(capacity: names.count)
        let total = names.reduce(0) { $0 + $1.utf8.count }
        bytes = .allocate(capacity: total)
        var offset = 0
        for (index, name) in names.enumerated() {
            let utf8 = Array(name.utf8)
            (bytes + offset).initialize(from: utf8, count: utf8.count)
            offsets[index] = offset
            lengths[index] = utf8.count
            offset += utf8.count
            let hash = utf8.withUnsafeBufferPointer { JSONParser.hash($0) }
            hashes[index] = hash
            var slot = Int(hash & UInt64(slotCount - 1))
            while slots[slot] != 0 { slot = (slot + 1) & (slotCount - 1) }
            slots[slot] = index + 1
        }
    }

    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> String? {
        guard let base = key.baseAddress else { return nil }
        let hash = JSONParser.hash(key)
        var slot = Int(hash & UInt64(slotCount - 1))
        while slots[slot] != 0 {
            let index = slots[slot] - 1
            if hashes[index] == hash && lengths[index] == key.count
                && memcmp(bytes + offsets[index], base, key.count) == 0
            {
                return strings[index]
            }
            slot = (slot + 1) & (slotCount - 1)
        }
        return nil
    }
}
