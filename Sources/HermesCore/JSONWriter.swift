/// Appends compact JSON to a byte buffer. Records are written field by field so the key order is
/// the contract's, not a dictionary's.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init() {
        bytes.reserveCapacity(512)
    }

    /// An object as a value: after a key, or as an element of an array.
    public mutating func beginObject() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func beginArray() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func key(_ name: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        Self.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { Self.appendString(value, to: &bytes) } else { appendNull() }
        needsComma = true
    }

    public mutating func field(_ name: String, _ value: Double?) {
        key(name)
        if let value { Self.appendNumber(value, to: &bytes) } else { appendNull() }
        needsComma = true
    }

    public mutating func field(_ name: String, _ value: Int64?) {
        key(name)
        if let value { bytes.append(contentsOf: Array(String(value).utf8)) } else { appendNull() }
        needsComma = true
    }

    public mutating func field(_ name: String, _ value: JSONValue) {
        key(name)
        append(value)
        needsComma = true
    }

    /// Writes `name` only when `value` is present: optional extensions are omitted, not null.
    public mutating func optionalField(_ name: String, _ value: String?) {
        if let value { field(name, value) }
    }

    public mutating func optionalField(_ name: String, _ value: Double?) {
        if let value { field(name, value) }
    }

    public mutating func optionalField(_ name: String, _ value: Int64?) {
        if let value { field(name, value) }
    }

    /// A key already encoded with its quotes and colon (`"name":`), as `RecordEncoder` keeps them.
    mutating func key(encoded: UnsafeBufferPointer<UInt8>) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        bytes.append(contentsOf: encoded)
        needsComma = false
    }

    /// A value already encoded as JSON.
    mutating func value(encoded: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: encoded)
        needsComma = true
    }

    mutating func value(_ text: String) {
        Self.appendString(text, to: &bytes)
        needsComma = true
    }

    mutating func value(_ number: Double) {
        Self.appendNumber(number, to: &bytes)
        needsComma = true
    }

    mutating func value(_ integer: Int64) {
        bytes.append(contentsOf: Array(String(integer).utf8))
        needsComma = true
    }

    public mutating func newline() {
        bytes.append(0x0A)
        needsComma = false
    }

    private mutating func appendNull() {
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
    }

    public mutating func append(_ value: JSONValue) {
        switch value {
        case .null: appendNull()
        case .bool(let flag): bytes.append(contentsOf: Array((flag ? "true" : "false").utf8))
        case .integer(let integer): bytes.append(contentsOf: Array(String(integer).utf8))
        case .number(let number): Self.appendNumber(number, to: &bytes)
        case .string(let text): Self.appendString(text, to: &bytes)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                append(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let object):
            bytes.append(UInt8(ascii: "{"))
            for (offset, member) in object.members.enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                Self.appendString(member.key, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                append(member.value)
            }
            bytes.append(UInt8(ascii: "}"))
        }
        needsComma = true
    }

    /// Shortest round-tripping form (Swift's `description`), which for finite values is valid JSON.
    /// A non-finite value cannot be written as JSON; it becomes null, never NaN text or a crash.
    public static func appendNumber(_ value: Double, to bytes: inout [UInt8]) {
        guard value.isFinite else {
            bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
            return
        }
        bytes.append(contentsOf: Array(value.description.utf8))
    }

    public static func appendString(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendString(utf8: $0, to: &bytes) }
    }

    /// UTF-8 bytes as a JSON string. The runs between characters that need escaping are copied
    /// whole: appending byte by byte made escaping the largest cost of a Loki push.
    public static func appendString(utf8 input: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<input.count {
            let byte = input[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<index])) }
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            default:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [
                    0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                ])
            }
        }
        if runStart < input.count {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<input.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
