/// Turns one parsed JSON line into a record, whichever of the accepted forms it is in:
/// a canonical v1 record, a Python Hermes `to_dict()` object, or an Ookla CLI json/jsonl line.
public enum RecordDecoder {
    public enum Outcome: Equatable, Sendable {
        case record(Record)
        /// A line that is valid but carries no record, such as Ookla progress or info logs.
        case ignored
    }

    public struct Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    public static func decode(_ value: JSONValue) throws(Rejection) -> Outcome {
        guard case .object(let object) = value else {
            throw Rejection("expected a JSON object, got \(value.typeName)")
        }
        if object.has("v") {
            return .record(try decodeCanonical(object))
        }
        switch object["type"] {
        case .some(.string("result")) where object.has("ping") || object.has("download"):
            return .record(.result(try OoklaForm.decodeResult(object)))
        case .some(.string("log")):
            return try OoklaForm.decodeLog(object).map { .record(.failure($0)) } ?? .ignored
        case .some(.string(let type)) where OoklaForm.progressTypes.contains(type):
            return .ignored
        case .some(.string("result")), .some(.string("failure")):
            throw Rejection("missing required field \"v\" (the schema version, 1)")
        case .some(let other):
            throw Rejection("unknown record type \(describe(other))")
        case .none:
            if object.has("timestamp") && (object.has("download_mbps") || object.has("ping_ms")) {
                return .record(.result(try PythonForm.decode(object)))
            }
            throw Rejection("not a Hermes record: no \"v\" and \"type\", and not a Python Hermes or Ookla result")
        }
    }

    static func describe(_ value: JSONValue) -> String {
        if case .string(let text) = value { return "\"\(text)\"" }
        return value.typeName
    }

    private static func decodeCanonical(_ object: JSONObject) throws(Rejection) -> Record {
        var fields = Fields(object)
        let version = fields.value("v") ?? .null
        guard case .integer(let number) = version else {
            throw Rejection("\"v\" must be the integer 1, got \(describe(version))")
        }
        guard number == Record.schemaVersion else {
            throw Rejection("unsupported schema version \(number) (this Hermes reads version \(Record.schemaVersion))")
        }
        switch try fields.requiredString("type") {
        case "result": return .result(try decodeResult(&fields))
        case "failure": return .failure(try decodeFailure(&fields))
        case let other: throw Rejection("unknown record type \"\(other)\" (expected \"result\" or \"failure\")")
        }
    }

    /// Reads the fields in canonical order, which makes each lookup a single comparison for
    /// records Hermes wrote itself.
    private static func decodeResult(_ fields: inout Fields) throws(Rejection) -> SpeedResult {
        let timestamp = try fields.timestamp()
        let download = try fields.optionalMeasure("download_mbps")
        let upload = try fields.optionalMeasure("upload_mbps")
        let ping = try fields.requiredMeasure("ping_ms")
        let jitter = try fields.optionalMeasure("jitter_ms")
        let isp = try fields.optionalString("isp_name")
        let serverName = try fields.optionalString("server_name") ?? ""
        let serverLocation = try fields.optionalString("server_location") ?? ""
        let serverID = try fields.serverID()
        var extensions = SpeedResult.Extensions()
        extensions.engine = try fields.optionalString("engine")
        extensions.serverURL = try fields.optionalString("server_url")
        extensions.clientIP = try fields.optionalString("client_ip")
        extensions.probe = try fields.optionalString("probe")
        extensions.downloadLatencyMs = try fields.optionalMeasure("download_latency_ms")
        extensions.uploadLatencyMs = try fields.optionalMeasure("upload_latency_ms")
        extensions.packetLossPct = try checkPacketLoss(fields.optionalMeasure("packet_loss_pct"))
        extensions.downloadBytes = try fields.optionalCount("download_bytes")
        extensions.uploadBytes = try fields.optionalCount("upload_bytes")
        extensions.durationMs = try fields.optionalCount("duration_ms")
        extensions.streams = try fields.optionalCount("streams")
        return SpeedResult(
            timestamp: timestamp, downloadMbps: download, uploadMbps: upload, pingMs: ping, jitterMs: jitter,
            ispName: isp, serverName: serverName, serverLocation: serverLocation, serverID: serverID,
            extensions: extensions, unknownFields: fields.unread())
    }

    static func checkPacketLoss(_ loss: Double?) throws(Rejection) -> Double? {
        if let loss, loss > 100 { throw Rejection("\"packet_loss_pct\" must be at most 100, got \(loss)") }
        return loss
    }

    private static func decodeFailure(_ fields: inout Fields) throws(Rejection) -> MeasurementFailure {
        let timestamp = try fields.timestamp()
        let error = try fields.requiredString("error")
        guard !error.isEmpty else { throw Rejection("\"error\" must describe what failed, got an empty string") }
        let kindText = try fields.requiredString("error_kind")
        guard let kind = MeasurementFailure.ErrorKind(rawValue: kindText) else {
            let known = MeasurementFailure.ErrorKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw Rejection("unknown \"error_kind\" \"\(kindText)\" (expected one of \(known))")
        }
        let engine = try fields.optionalString("engine")
        let serverURL = try fields.optionalString("server_url")
        let probe = try fields.optionalString("probe")
        return MeasurementFailure(
            timestamp: timestamp, error: error, errorKind: kind, engine: engine, serverURL: serverURL, probe: probe,
            unknownFields: fields.unread())
    }
}

/// Typed access to an object's fields, with rejections that name the field. It remembers which
/// members were read, so the rest can be passed on as unknown fields.
struct Fields {
    let object: JSONObject
    private var cursor = 0
    /// Which members were read: a bit per member for the first 64, a list beyond (rare).
    private var readMask: UInt64 = 0
    private var readBeyondMask: [Int] = []

    init(_ object: JSONObject) {
        self.object = object
    }

    /// Looks from where the previous lookup ended, so fields read in the order they were written
    /// cost one comparison each.
    mutating func value(_ key: String) -> JSONValue? {
        let count = object.members.count
        for step in 0..<count {
            let position = (cursor + step) % count
            if object.members[position].key == key {
                cursor = position + 1
                if position < 64 { readMask |= 1 << UInt64(position) } else { readBeyondMask.append(position) }
                return object.members[position].value
            }
        }
        return nil
    }

    private func wasRead(_ position: Int) -> Bool {
        position < 64 ? readMask & (1 << UInt64(position)) != 0 : readBeyondMask.contains(position)
    }

    /// The members no lookup asked for, in input order.
    func unread() -> JSONObject {
        let count = object.members.count
        let allRead = count <= 64 && readMask == (count == 64 ? UInt64.max : (1 << UInt64(count)) - 1)
        if allRead { return JSONObject() }
        return JSONObject(object.members.indices.filter { !wasRead($0) }.map { object.members[$0] })
    }

    mutating func requiredString(_ key: String) throws(RecordDecoder.Rejection) -> String {
        guard let value = value(key) else { throw .init("missing required field \"\(key)\"") }
        guard case .string(let text) = value else {
            throw .init("\"\(key)\" must be a string, got \(value.typeName)")
        }
        return text
    }

    mutating func optionalString(_ key: String) throws(RecordDecoder.Rejection) -> String? {
        switch value(key) {
        case .none, .some(.null): return nil
        case .some(.string(let text)): return text
        case .some(let other): throw .init("\"\(key)\" must be a string or null, got \(other.typeName)")
        }
    }

    mutating func requiredMeasure(_ key: String) throws(RecordDecoder.Rejection) -> Double {
        guard let value = value(key) else { throw .init("missing required field \"\(key)\"") }
        guard case .some(let number) = try Self.measure(key, value) else {
            throw .init("\"\(key)\" must be a number, got null")
        }
        return number
    }

    mutating func optionalMeasure(_ key: String) throws(RecordDecoder.Rejection) -> Double? {
        guard let value = value(key) else { return nil }
        return try Self.measure(key, value)
    }

    // The conversions below are static so that CanonicalRecordDecoder applies the same rules.

    static func measure(_ key: String, _ value: JSONValue) throws(RecordDecoder.Rejection) -> Double? {
        if case .null = value { return nil }
        guard let number = value.doubleValue else {
            throw .init("\"\(key)\" must be a number or null, got \(value.typeName)")
        }
        guard number >= 0 else { throw .init("\"\(key)\" must not be negative, got \(number)") }
        return number
    }

    mutating func optionalCount(_ key: String) throws(RecordDecoder.Rejection) -> Int64? {
        guard let value = value(key) else { return nil }
        return try Self.count(key, value)
    }

    static func count(_ key: String, _ value: JSONValue) throws(RecordDecoder.Rejection) -> Int64? {
        switch value {
        case .null: return nil
        case .integer(let count) where count >= 0: return count
        case .number(let number) where number >= 0 && number == number.rounded() && number < 9.0e18:
            return Int64(number)
        default:
            throw .init("\"\(key)\" must be a non-negative integer or null, got \(describe(value))")
        }
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .integer(let integer): String(integer)
        case .number(let number): String(number)
        default: value.typeName
        }
    }

    mutating func timestamp(_ key: String = "timestamp") throws(RecordDecoder.Rejection) -> Timestamp {
        let text = try requiredString(key)
        do {
            return try Timestamp(rfc3339: text)
        } catch {
            throw .init("\"\(key)\" \"\(text)\" \(error.message)")
        }
    }

    /// Python Hermes stored integer ids; the record carries them as strings.
    mutating func serverID(_ key: String = "server_id") throws(RecordDecoder.Rejection) -> String? {
        guard let value = value(key) else { return nil }
        return try Self.serverID(key, value)
    }

    static func serverID(_ key: String, _ value: JSONValue) throws(RecordDecoder.Rejection) -> String? {
        switch value {
        case .null: return nil
        case .string(let text): return text
        case .integer(let integer): return String(integer)
        default: throw .init("\"\(key)\" must be a string, an integer or null, got \(value.typeName)")
        }
    }
}
