import Glibc

/// A strict RFC 8259 parser over UTF-8 bytes, with errors a user can act on.
///
/// Written here rather than using Foundation so that the core stays small, parsing stays fast
/// for bulk imports, and `NaN`/`Infinity` (which Python's json module writes) get a precise message.
public struct JSONParser {
    public struct Failure: Error, Equatable, Sendable {
        public var message: String
    }

    // Internal rather than private: CanonicalRecordDecoder scans with the same cursor and number
    // grammar, so what it accepts is parsed exactly as here.
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    private var depth = 0
    private static let maximumDepth = 64
    /// Keys the caller expects, returned as shared strings instead of new ones.
    private let knownKeys: KeyTable?

    init(bytes: UnsafeBufferPointer<UInt8>, knownKeys: KeyTable? = nil) {
        self.bytes = bytes
        self.knownKeys = knownKeys
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, knownKeys: KeyTable? = nil) throws(Failure)
        -> JSONValue
    {
        var parser = JSONParser(bytes: bytes, knownKeys: knownKeys)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.index < bytes.count {
            throw parser.failure("unexpected \(parser.describeCurrent()) after the JSON value")
        }
        return value
    }

    public static func parse(_ text: String) throws(Failure) -> JSONValue {
        var copy = text
        let result: Result<JSONValue, Failure> = copy.withUTF8 { buffer in
            do throws(Failure) { return .success(try parse(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private func failure(_ message: String) -> Failure {
        Failure(message: "\(message) at byte \(index + 1)")
    }

    private func describeCurrent() -> String {
        guard index < bytes.count else { return "end of line" }
        let byte = bytes[index]
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(Failure) -> JSONValue {
        guard index < bytes.count else { throw failure("unexpected end of line, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object(try parseObject())
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectWord("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectWord("null")
            return .null
        case UInt8(ascii: "N"):
            throw failure("NaN is not a number JSON allows; unmeasured values must be null")
        case UInt8(ascii: "I"):
            throw failure("Infinity is not a number JSON allows; numbers must be finite")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected \(describeCurrent()), expected a value")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw failure("unexpected end of line") }
        let start = word.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] {
            throw failure("unexpected \(describeCurrent()), expected a value")
        }
        index += count
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        if depth > Self.maximumDepth { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
    }

    private mutating func parseObject() throws(Failure) -> JSONObject {
        try enter()
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return JSONObject()
        }
        // Hashes of the keys seen, on the stack, so the duplicate check compares integers and
        // allocates nothing for objects of up to `hashCapacity` keys.
        let hashCapacity = 32
        let result: Result<JSONObject, Failure> = withUnsafeTemporaryAllocation(of: UInt64.self, capacity: hashCapacity)
        {
            keyHashes in
            var members: [JSONMember] = []
            var largeObjectKeys: Set<String>?
            members.reserveCapacity(24)
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    return .failure(failure("unexpected \(describeCurrent()), expected a quoted key"))
                }
                let keyStart = index
                let key: String
                do throws(Failure) { key = try parseKey() } catch { return .failure(error) }
                var keyText = key
                let hash = keyText.withUTF8 { Self.hash($0) }
                let isDuplicate: Bool
                if members.count < hashCapacity {
                    isDuplicate = members.indices.contains { keyHashes[$0] == hash && members[$0].key == key }
                } else {
                    // Past the stack table, a set keeps huge objects linear rather than quadratic.
                    if largeObjectKeys == nil { largeObjectKeys = Set(members.map(\.key)) }
                    isDuplicate = !(largeObjectKeys?.insert(key).inserted ?? true)
                }
                if isDuplicate {
                    index = keyStart
                    return .failure(failure("duplicate key \"\(key)\""))
                }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    return .failure(failure("unexpected \(describeCurrent()), expected ':' after key \"\(key)\""))
                }
                index += 1
                skipWhitespace()
                let value: JSONValue
                do throws(Failure) { value = try parseValue() } catch { return .failure(error) }
                if members.count < hashCapacity { keyHashes[members.count] = hash }
                members.append(JSONMember(key: key, value: value))
                skipWhitespace()
                guard index < bytes.count else { return .failure(failure("unexpected end of line, expected '}'")) }
                switch bytes[index] {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"):
                    index += 1
                    return .success(JSONObject(members))
                default: return .failure(failure("unexpected \(describeCurrent()), expected ',' or '}'"))
                }
            }
        }
        return try result.get()
    }

    /// A key: the shared instance when it is one of the known keys (no allocation, no
    /// validation, and later comparisons with the same name are cheap), else a new string.
    private mutating func parseKey() throws(Failure) -> String {
        guard let knownKeys else { return try parseString() }
        var end = index + 1
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\""),
            let known = knownKeys.lookup(UnsafeBufferPointer(rebasing: bytes[(index + 1)..<end]))
        {
            index = end + 1
            return known
        }
        return try parseString()
    }

    /// FNV-1a; equal hashes are confirmed by comparing the strings.
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    private mutating func parseArray() throws(Failure) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of line, expected ']'") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            default: throw failure("unexpected \(describeCurrent()), expected ',' or ']'")
            }
        }
    }

    private mutating func parseString() throws(Failure) -> String {
        index += 1
        let start = index
        // Fast path: no escapes, so the bytes are the string. ASCII needs no validation, and the
        // generic validating initializer is slow enough to show in bulk imports.
        var highBits: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                if highBits < 0x80 { return String(decoding: slice, as: UTF8.self) }
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw failure("invalid UTF-8 in a string")
                }
                return text
            }
            highBits |= byte
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("control character 0x\(String(byte, radix: 16)) in a string") }
            index += 1
        }
        var decoded = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: decoded, as: UTF8.self) else {
                    throw failure("invalid UTF-8 in a string")
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                try appendEscape(to: &decoded)
            case 0..<0x20:
                throw failure("control character 0x\(String(byte, radix: 16)) in a string")
            default:
                decoded.append(byte)
                index += 1
            }
        }
        throw failure("unterminated string")
    }

    private mutating func appendEscape(to decoded: inout [UInt8]) throws(Failure) {
        guard index < bytes.count else { throw failure("unterminated string") }
        let escape = bytes[index]
        index += 1
        switch escape {
        case UInt8(ascii: "\""): decoded.append(0x22)
        case UInt8(ascii: "\\"): decoded.append(0x5C)
        case UInt8(ascii: "/"): decoded.append(0x2F)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                else { throw failure("unpaired UTF-16 surrogate in a string") }
                index += 2
                let low = try parseHex4()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw failure("unpaired UTF-16 surrogate in a string")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw failure("unpaired UTF-16 surrogate in a string")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid \\u escape") }
            decoded.append(contentsOf: Array(String(Character(unicode)).utf8))
        default:
            index -= 1
            throw failure("invalid escape \\\(describeCurrent()) in a string")
        }
    }

    private mutating func parseHex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    mutating func parseNumber() throws(Failure) -> JSONValue {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
            if index < bytes.count && bytes[index] == UInt8(ascii: "I") {
                throw failure("-Infinity is not a number JSON allows; numbers must be finite")
            }
        }
        guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number") }
        // The significant digits (leading zeros skipped), for the exact fast paths below. Past 19
        // digits the mantissa wraps, but then digitCount sends the number to the slow path,
        // which reads the text; so each loop is only a multiply-add per digit.
        var mantissa: UInt64 = 0
        var digitCount = 0
        var decimalExponent = 0
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count && isDigit(bytes[index]) { throw failure("invalid number: leading zero") }
        } else {
            let first = index
            while index < bytes.count, case let digit = bytes[index] &- UInt8(ascii: "0"), digit < 10 {
                mantissa = mantissa &* 10 &+ UInt64(digit)
                index += 1
            }
            digitCount = index - first
        }
        var isIntegral = true
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            isIntegral = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw failure("invalid number: digit expected after '.'")
            }
            let first = index
            if mantissa == 0 {
                while index < bytes.count && bytes[index] == UInt8(ascii: "0") { index += 1 }
            }
            let significant = index
            while index < bytes.count, case let digit = bytes[index] &- UInt8(ascii: "0"), digit < 10 {
                mantissa = mantissa &* 10 &+ UInt64(digit)
                index += 1
            }
            digitCount += index - significant
            decimalExponent = first - index
        }
        var exponentPart: Int?
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            isIntegral = false
            index += 1
            var exponentNegative = false
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw failure("invalid number: digit expected in exponent")
            }
            var exponent = 0
            while index < bytes.count && isDigit(bytes[index]) {
                exponent = min(exponent * 10 + Int(bytes[index] - UInt8(ascii: "0")), 100_000)
                index += 1
            }
            exponentPart = exponentNegative ? -exponent : exponent
        }
        if isIntegral && digitCount <= 18 {
            let magnitude = Int64(mantissa)
            return .integer(negative ? -magnitude : magnitude)
        }
        // Clinger's fast path: a mantissa below 2^53 and a power of ten up to 10^22 are both exact
        // doubles, so one multiplication or division rounds correctly.
        let totalExponent = decimalExponent + (exponentPart ?? 0)
        if digitCount <= 15 && abs(totalExponent) <= 22 {
            var value = Double(mantissa)
            if totalExponent < 0 {
                value /= Self.powersOfTen[-totalExponent]
            } else {
                value *= Self.powersOfTen[totalExponent]
            }
            return .number(negative && value != 0 ? -value : value)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isIntegral, let integer = Int64(text) { return .integer(integer) }
        guard let value = Double(text), value.isFinite else {
            throw failure("number \(text) is out of range; numbers must be finite")
        }
        return .number(value)
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
