import Glibc

/// Decodes the canonical v1 records Hermes writes straight from a line's bytes, in one pass and
/// without a JSONValue tree: building and walking the tree was most of the cost of a bulk import.
///
/// It takes only the plain case: `v` and `type` first, then the contract's fields in the contract's
/// order (any may be left out), no unknown or repeated keys, no escapes in strings. For anything
/// else it answers nil and the general path (JSONParser, then RecordDecoder) decides, so every
/// rejection keeps its wording. When it does answer a record, it is the one the general path
/// would give: the same number grammar (JSONParser's), the same field rules (Fields' static
/// conversions), and tests that hold the two paths to it.
struct CanonicalRecordDecoder {
    private let interner = StringInterner()
    private let result = Layout(.result)
    private let failure = Layout(.failure)

    func decode(_ line: UnsafeBufferPointer<UInt8>) -> Record? {
        var scanner = JSONParser(bytes: line)
        guard scanner.take(UInt8(ascii: "{")), scanner.takeKey("v"), case .integer(1) = scanner.scalar(),
            scanner.take(UInt8(ascii: ",")), scanner.takeKey("type"), case .text(let type, _) = scanner.scalar()
        else { return nil }
        if Self.equal(type, "result") { return decode(result, &scanner) }
        if Self.equal(type, "failure") { return decode(failure, &scanner) }
        return nil
    }

    /// One kind's declared fields as the fast path needs them: keys to match in canonical order,
    /// and per position what the value must be (plain values, nothing to retain per lookup).
    private struct Layout {
        struct Slot {
            let field: Int
            let kind: RecordField.Kind
            let isRequired: Bool
        }

        let kind: Record.Kind
        let keys: KeySequence
        let names: [String]
        let slots: [Slot]
        /// Fields that must be present, and fields written with a default when absent.
        let required: [Int]
        let defaults: [(field: Int, text: String)]

        init(_ kind: Record.Kind) {
            let fields = RecordSchema.fields(of: kind)
            self.kind = kind
            names = fields.map(\.key)
            keys = KeySequence(names)
            slots = fields.map { Slot(field: $0.index, kind: $0.kind, isRequired: $0.presence == .required) }
            required = fields.filter { $0.presence == .required && $0.kind != .timestamp }.map(\.index)
            defaults = fields.compactMap { field in
                guard case .defaulted(let text) = field.presence else { return nil }
                return (field.index, text)
            }
        }
    }

    private func decode(_ layout: Layout, _ scanner: inout JSONParser) -> Record? {
        var timestamp: Timestamp?
        var complete = false
        // Fields come in declaration order, so their slots fill front to back: each slot is
        // initialized once, with no copy-on-write check or old value to destroy per field.
        let values = RecordValues(fillingInOrder: { slots in
            var filled = 0
            var next = 0
            defer {
                while filled < slots.count {
                    slots.initializeElement(at: filled, to: .absent)
                    filled += 1
                }
            }
            while scanner.take(UInt8(ascii: ",")) {
                guard let position = layout.keys.take(from: next, in: &scanner), scanner.take(UInt8(ascii: ":")),
                    let scalar = scanner.scalar()
                else { return }
                let slot = layout.slots[position]
                if slot.kind == .timestamp {
                    guard case .text(let bytes, _) = scalar, case .success(let milliseconds) = Timestamp.parse(bytes)
                    else { return }
                    timestamp = Timestamp(millisecondsSinceEpoch: milliseconds)
                } else {
                    guard let value = convert(scalar, slot, position: position, in: layout) else { return }
                    while filled < slot.field {
                        slots.initializeElement(at: filled, to: .absent)
                        filled += 1
                    }
                    slots.initializeElement(at: filled, to: value)
                    filled += 1
                }
                next = position + 1
            }
            complete = scanner.takeEnd()
        })
        guard complete, let timestamp else { return nil }
        for field in layout.required where values[slot: field].isAbsent { return nil }
        var record = values
        for (field, text) in layout.defaults where record[slot: field].isAbsent { record[slot: field] = .text(text) }
        return Record(kind: layout.kind, timestamp: timestamp, values: record)
    }

    /// One value into its field's form; nil when the fast path cannot take it: the general path
    /// will then reject it, or decode it itself. The plain numbers are taken here, by the rules of
    /// `Fields.convert`, which decides everything else.
    private func convert(_ scalar: Scalar, _ slot: Layout.Slot, position: Int, in layout: Layout) -> FieldValue? {
        switch (scalar, slot.kind) {
        case (.null, _):
            return slot.isRequired ? nil : .absent
        case (.text(let bytes, let isASCII), .text), (.text(let bytes, let isASCII), .sentence),
            (.text(let bytes, let isASCII), .errorKind), (.text(let bytes, let isASCII), .identifier):
            guard let text = interner.string(bytes, isASCII: isASCII) else { return nil }
            if slot.kind == .sentence && text.isEmpty { return nil }
            if slot.kind == .errorKind && MeasurementFailure.ErrorKind(rawValue: text) == nil { return nil }
            return .text(text)
        case (.text(let bytes, let isASCII), .choice(let words)):
            guard let text = interner.string(bytes, isASCII: isASCII), words.contains(text) else { return nil }
            return .text(text)
        case (.text, _):
            return nil
        case (.double(let number), .measure) where number >= 0: return .number(number)
        case (.integer(let number), .measure) where number >= 0: return .number(Double(number))
        case (.double(let number), .percentage) where number >= 0 && number <= 100: return .number(number)
        case (.integer(let number), .count) where number >= 0: return .integer(number)
        case (.integer, _), (.double, _):
            guard slot.kind.isNumeric || slot.kind == .identifier, let number = scalar.number else { return nil }
            return try? Fields.convert(
                number, key: layout.names[position], kind: slot.kind, isRequired: slot.isRequired)
        }
    }

    fileprivate static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        guard let base = bytes.baseAddress, bytes.count == text.utf8CodeUnitCount else { return false }
        return memcmp(base, text.utf8Start, bytes.count) == 0
    }
}

/// A value the fast path takes: null, a number as JSONParser reads it, or an escape-free string's
/// bytes (valid until the line is gone). Numbers are not kept as JSONValue, so that the enum is
/// trivial: nothing to retain or release each time a value is passed on.
private enum Scalar {
    case null
    case integer(Int64)
    case double(Double)
    case text(UnsafeBufferPointer<UInt8>, isASCII: Bool)

    /// The number as JSONValue, for Fields' conversions.
    var number: JSONValue? {
        switch self {
        case .integer(let integer): .integer(integer)
        case .double(let double): .number(double)
        case .null, .text: nil
        }
    }
}

/// Keys in the order the contract writes them, quoted, matched in place by a forward search: a key
/// repeated or out of order is not found, which is how the fast path leaves duplicates to the
/// general one.
private final class KeySequence {
    private let bytes: UnsafeMutablePointer<UInt8>
    private let starts: UnsafeMutablePointer<Int>
    private let count: Int

    init(_ keys: [String]) {
        let quoted = keys.map { Array("\"\($0)\"".utf8) }
        count = quoted.count
        bytes = .allocate(capacity: quoted.reduce(0) { $0 + $1.count })
        starts = .allocate(capacity: count + 1)
        starts[0] = 0
        for (position, key) in quoted.enumerated() {
            (bytes + starts[position]).initialize(from: key, count: key.count)
            starts[position + 1] = starts[position] + key.count
        }
    }

    deinit {
        bytes.deallocate()
        starts.deallocate()
    }

    /// Takes the key at the scanner's position when it is one of the keys from `first` on, and
    /// gives its position. The closing quote is part of what is compared, so a longer key that
    /// begins with the same letters does not match.
    func take(from first: Int, in scanner: inout JSONParser) -> Int? {
        scanner.skipWhitespace()
        let remaining = scanner.bytes.count - scanner.index
        guard let line = scanner.bytes.baseAddress, first < count else { return nil }
        let here = UnsafeRawPointer(line + scanner.index)
        for position in first..<count {
            let length = starts[position + 1] - starts[position]
            if length <= remaining && Self.equal(here, UnsafeRawPointer(bytes + starts[position]), count: length) {
                scanner.index += length
                return position
            }
        }
        return nil
    }

    /// Whole words, the last one overlapping the one before it: keys are 7 to 21 bytes with quotes.
    private static func equal(_ first: UnsafeRawPointer, _ second: UnsafeRawPointer, count: Int) -> Bool {
        func word(_ pointer: UnsafeRawPointer, _ offset: Int) -> UInt64 {
            pointer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        }
        func half(_ pointer: UnsafeRawPointer, _ offset: Int) -> UInt32 {
            pointer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        }
        if count >= 8 {
            var offset = 0
            while offset + 8 < count {
                if word(first, offset) != word(second, offset) { return false }
                offset += 8
            }
            return word(first, count - 8) == word(second, count - 8)
        }
        if count >= 4 { return half(first, 0) == half(second, 0) && half(first, count - 4) == half(second, count - 4) }
        return memcmp(first, second, count) == 0
    }
}

extension JSONParser {
    /// Skips whitespace, then takes `byte` if it comes next.
    fileprivate mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Takes the object's closing brace, which must end the line but for whitespace.
    fileprivate mutating func takeEnd() -> Bool {
        guard take(UInt8(ascii: "}")) else { return false }
        skipWhitespace()
        return index == bytes.count
    }

    /// Takes `"name":`.
    fileprivate mutating func takeKey(_ name: StaticString) -> Bool {
        guard let (key, _) = plainString(), CanonicalRecordDecoder.equal(key, name) else { return false }
        return take(UInt8(ascii: ":"))
    }

    /// The bytes between the quotes of a string without escapes or control characters, and whether
    /// they are all ASCII; nil for any other token.
    fileprivate mutating func plainString() -> (UnsafeBufferPointer<UInt8>, isASCII: Bool)? {
        guard take(UInt8(ascii: "\"")), let base = bytes.baseAddress else { return nil }
        let start = index
        var isASCII = true
        while true {
            // Eight bytes a step, up to the first that needs a look of its own.
            while index + 8 <= bytes.count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let flagged = Self.quoteBackslashControlOrHigh(word)
                if flagged != 0 {
                    index += flagged.trailingZeroBitCount / 8
                    break
                }
                index += 8
            }
            guard index < bytes.count else { return nil }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return (text, isASCII)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            if byte >= 0x80 { isASCII = false }
            index += 1
        }
    }

    /// A high bit in each byte of `word` (first byte lowest) that is '"', '\\', below 0x20 or
    /// above 0x7F. Only the lowest flag is exact (a borrow can flag bytes above it), and only the
    /// lowest is used.
    private static func quoteBackslashControlOrHigh(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func zeroBytes(_ value: UInt64) -> UInt64 { (value &- ones) & ~value & highs }
        let quotes = zeroBytes(word ^ (ones &* 0x22))
        let backslashes = zeroBytes(word ^ (ones &* 0x5C))
        let controls = (word &- ones &* 0x20) & ~word & highs
        return quotes | backslashes | controls | (word & highs)
    }

    fileprivate mutating func scalar() -> Scalar? {
        skipWhitespace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            guard let (text, isASCII) = plainString() else { return nil }
            return .text(text, isASCII: isASCII)
        case UInt8(ascii: "n"):
            guard index + 4 <= bytes.count, bytes[index + 1] == UInt8(ascii: "u"),
                bytes[index + 2] == UInt8(ascii: "l"),
                bytes[index + 3] == UInt8(ascii: "l")
            else { return nil }
            index += 4
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            switch try? parseNumber() {
            case .integer(let integer): return .integer(integer)
            case .number(let double): return .double(double)
            default: return nil
            }
        default:
            return nil
        }
    }
}
