#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
    private let resultKeys = KeySequence(ResultField.allCases.map(\.key))
    private let failureKeys = KeySequence(FailureField.allCases.map(\.key))

    func decode(_ line: UnsafeBufferPointer<UInt8>) -> Record? {
        var scanner = JSONParser(bytes: line)
        guard scanner.take(UInt8(ascii: "{")), scanner.takeKey("v"), case .integer(1) = scanner.scalar(),
            scanner.take(UInt8(ascii: ",")), scanner.takeKey("type"), case .text(let type, _) = scanner.scalar()
        else { return nil }
        // Each kind returns its record itself: a Record is large, and every layer it passes
        // through is a copy of its bytes.
        if Self.equal(type, "result") { return decodeResult(&scanner) }
        if Self.equal(type, "failure") { return decodeFailure(&scanner) }
        return nil
    }

    private enum ResultField: Int, CaseIterable {
        case timestamp, downloadMbps, uploadMbps, pingMs, jitterMs, ispName, serverName, serverLocation, serverID
        case engine, serverURL, clientIP, probe, downloadLatencyMs, uploadLatencyMs, packetLossPct
        case downloadBytes, uploadBytes, durationMs, streams

        var key: String {
            switch self {
            case .timestamp: "timestamp"
            case .downloadMbps: "download_mbps"
            case .uploadMbps: "upload_mbps"
            case .pingMs: "ping_ms"
            case .jitterMs: "jitter_ms"
            case .ispName: "isp_name"
            case .serverName: "server_name"
            case .serverLocation: "server_location"
            case .serverID: "server_id"
            case .engine: "engine"
            case .serverURL: "server_url"
            case .clientIP: "client_ip"
            case .probe: "probe"
            case .downloadLatencyMs: "download_latency_ms"
            case .uploadLatencyMs: "upload_latency_ms"
            case .packetLossPct: "packet_loss_pct"
            case .downloadBytes: "download_bytes"
            case .uploadBytes: "upload_bytes"
            case .durationMs: "duration_ms"
            case .streams: "streams"
            }
        }
    }

    private func decodeResult(_ scanner: inout JSONParser) -> Record? {
        // Locals, and one initializer call at the end: they move into the record, where filling
        // in a SpeedResult made copies of it (a retain and a release of every string).
        var timestamp: Timestamp?
        var download: Double?
        var upload: Double?
        var ping: Double?
        var jitter: Double?
        var isp: String?
        var serverName: String?
        var serverLocation: String?
        var serverID: String?
        var extensions = SpeedResult.Extensions()
        let complete = Self.readMembers(resultKeys, &scanner) { (field: ResultField, value) in
            switch field {
            case .timestamp: Self.timestamp(value, into: &timestamp)
            case .downloadMbps: Self.measure(value, field.key, into: &download)
            case .uploadMbps: Self.measure(value, field.key, into: &upload)
            case .pingMs: Self.measure(value, field.key, into: &ping) && ping != nil
            case .jitterMs: Self.measure(value, field.key, into: &jitter)
            case .ispName: string(value, into: &isp)
            case .serverName: string(value, into: &serverName)
            case .serverLocation: string(value, into: &serverLocation)
            case .serverID: self.serverID(value, field.key, into: &serverID)
            case .engine: string(value, into: &extensions.engine)
            case .serverURL: string(value, into: &extensions.serverURL)
            case .clientIP: string(value, into: &extensions.clientIP)
            case .probe: string(value, into: &extensions.probe)
            case .downloadLatencyMs: Self.measure(value, field.key, into: &extensions.downloadLatencyMs)
            case .uploadLatencyMs: Self.measure(value, field.key, into: &extensions.uploadLatencyMs)
            case .packetLossPct: Self.packetLoss(value, into: &extensions.packetLossPct)
            case .downloadBytes: Self.count(value, field.key, into: &extensions.downloadBytes)
            case .uploadBytes: Self.count(value, field.key, into: &extensions.uploadBytes)
            case .durationMs: Self.count(value, field.key, into: &extensions.durationMs)
            case .streams: Self.count(value, field.key, into: &extensions.streams)
            }
        }
        guard complete, let timestamp, let ping else { return nil }
        return .result(
            SpeedResult(
                timestamp: timestamp, downloadMbps: download, uploadMbps: upload, pingMs: ping, jitterMs: jitter,
                ispName: isp, serverName: serverName ?? "", serverLocation: serverLocation ?? "", serverID: serverID,
                extensions: extensions))
    }

    private enum FailureField: Int, CaseIterable {
        case timestamp, error, errorKind, engine, serverURL, probe

        var key: String {
            switch self {
            case .timestamp: "timestamp"
            case .error: "error"
            case .errorKind: "error_kind"
            case .engine: "engine"
            case .serverURL: "server_url"
            case .probe: "probe"
            }
        }
    }

    private func decodeFailure(_ scanner: inout JSONParser) -> Record? {
        var timestamp: Timestamp?
        var error: String?
        var kind: String?
        var engine: String?
        var serverURL: String?
        var probe: String?
        let complete = Self.readMembers(failureKeys, &scanner) { (field: FailureField, value) in
            switch field {
            case .timestamp: Self.timestamp(value, into: &timestamp)
            case .error: string(value, into: &error) && error?.isEmpty == false
            case .errorKind: string(value, into: &kind)
            case .engine: string(value, into: &engine)
            case .serverURL: string(value, into: &serverURL)
            case .probe: string(value, into: &probe)
            }
        }
        guard complete, let timestamp, let error, let kind = kind.flatMap(MeasurementFailure.ErrorKind.init(rawValue:))
        else { return nil }
        return .failure(
            MeasurementFailure(
                timestamp: timestamp, error: error, errorKind: kind, engine: engine, serverURL: serverURL, probe: probe)
        )
    }

    /// Reads the members after `type`, in the order of `keys`, to the end of the line, handing each
    /// field and its value to `take`. False when a member is not for the fast path, or `take`
    /// declines its value.
    private static func readMembers<Field: RawRepresentable<Int>>(
        _ keys: KeySequence, _ scanner: inout JSONParser, _ take: (Field, Scalar) -> Bool
    ) -> Bool {
        var next = 0
        while scanner.take(UInt8(ascii: ",")) {
            guard let position = keys.take(from: next, in: &scanner), let field = Field(rawValue: position),
                scanner.take(UInt8(ascii: ":")), let value = scanner.scalar(), take(field, value)
            else { return false }
            next = position + 1
        }
        return scanner.takeEnd()
    }

    // Conversions of one value into its field. False when the fast path cannot take the value:
    // the general path will then reject it, or decode it itself.

    private static func timestamp(_ value: Scalar, into target: inout Timestamp?) -> Bool {
        guard case .text(let bytes, _) = value, case .success(let milliseconds) = Timestamp.parse(bytes) else {
            return false
        }
        target = Timestamp(millisecondsSinceEpoch: milliseconds)
        return true
    }

    private static func measure(_ value: Scalar, _ key: String, into target: inout Double?) -> Bool {
        if case .null = value {
            target = nil
            return true
        }
        guard let number = value.number else { return false }
        do { target = try Fields.measure(key, number) } catch { return false }
        return true
    }

    private static func packetLoss(_ value: Scalar, into target: inout Double?) -> Bool {
        var loss: Double?
        guard measure(value, "packet_loss_pct", into: &loss) else { return false }
        do { target = try RecordDecoder.checkPacketLoss(loss) } catch { return false }
        return true
    }

    private static func count(_ value: Scalar, _ key: String, into target: inout Int64?) -> Bool {
        if case .null = value {
            target = nil
            return true
        }
        guard let number = value.number else { return false }
        do { target = try Fields.count(key, number) } catch { return false }
        return true
    }

    private func string(_ value: Scalar, into target: inout String?) -> Bool {
        switch value {
        case .null: target = nil
        case .text(let bytes, let isASCII):
            guard let text = interner.string(bytes, isASCII: isASCII) else { return false }
            target = text
        case .integer, .double: return false
        }
        return true
    }

    private func serverID(_ value: Scalar, _ key: String, into target: inout String?) -> Bool {
        guard let number = value.number else { return string(value, into: &target) }
        do { target = try Fields.serverID(key, number) } catch { return false }
        return true
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
