import Glibc

/// Hands out one shared String for each short text seen recently.
///
/// The records of a bulk import repeat the same probe, engine, server and ISP names line after
/// line. Handing out the String made for the previous line costs a hash and a comparison; making
/// a new one costs an allocation on the reading thread and a free on the thread that stores it.
/// A fixed table that forgets on collision keeps memory bounded whatever the input.
final class StringInterner {
    static let maximumLength = 96
    private static let slotBits = 9
    private static let slotCount = 1 << slotBits

    /// Slot `i` holds a text's bytes at `texts + i * maximumLength`; a length of -1 marks it empty.
    private let texts: UnsafeMutablePointer<UInt8>
    private let lengths: UnsafeMutablePointer<Int>
    private let hashes: UnsafeMutablePointer<UInt64>
    private let strings: UnsafeMutablePointer<String>

    init() {
        texts = .allocate(capacity: Self.slotCount * Self.maximumLength)
        lengths = .allocate(capacity: Self.slotCount)
        lengths.initialize(repeating: -1, count: Self.slotCount)
        hashes = .allocate(capacity: Self.slotCount)
        hashes.initialize(repeating: 0, count: Self.slotCount)
        strings = .allocate(capacity: Self.slotCount)
        strings.initialize(repeating: "", count: Self.slotCount)
    }

    deinit {
        strings.deinitialize(count: Self.slotCount)
        strings.deallocate()
        hashes.deallocate()
        lengths.deallocate()
        texts.deallocate()
    }

    /// The text of `bytes`, or nil when they are not UTF-8; `isASCII` (no byte ≥ 0x80) spares the
    /// validation, as in JSONParser.
    func string(_ bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool) -> String? {
        let count = bytes.count
        guard count <= Self.maximumLength, let base = bytes.baseAddress else {
            return Self.make(bytes, isASCII: isASCII)
        }
        let hash = Self.hash(base, count: count)
        let slot = Int(truncatingIfNeeded: hash >> UInt64(64 - Self.slotBits))
        let text = texts + slot * Self.maximumLength
        if hashes[slot] == hash && lengths[slot] == count && memcmp(text, base, count) == 0 {
            return strings[slot]
        }
        guard let string = Self.make(bytes, isASCII: isASCII) else { return nil }
        text.update(from: base, count: count)
        lengths[slot] = count
        hashes[slot] = hash
        strings[slot] = string
        return string
    }

    private static func make(_ bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool) -> String? {
        isASCII ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
    }

    /// Eight bytes a step (the last step overlapping), multiplied so that the top bits, which pick
    /// the slot, depend on every byte. Equal hashes are confirmed by comparing the bytes.
    private static func hash(_ base: UnsafePointer<UInt8>, count: Int) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        let raw = UnsafeRawPointer(base)
        var hash = UInt64(truncatingIfNeeded: count) &* multiplier
        if count < 8 {
            var word: UInt64 = 0
            for offset in 0..<count { word = word << 8 | UInt64(base[offset]) }
            return (hash ^ word) &* multiplier
        }
        var offset = 0
        while offset + 8 < count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* multiplier
            offset += 8
        }
        return (hash ^ raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)) &* multiplier
    }
}
