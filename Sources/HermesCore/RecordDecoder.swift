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
        let fields = Fields(object)
        guard case .integer(let version) = object["v"] ?? .null else {
            throw Rejection("\"v\" must be the integer 1, got \(describe(object["v"] ?? .null))")
        }
        guard version == Record.schemaVersion else {
            throw Rejection("unsupported schema version \(version) (this Hermes reads version \(Record.schemaVersion))")
        }
        switch try fields.requiredString("type") {
        case "result": return .result(try decodeResult(fields))
        case "failure": return .failure(try decodeFailure(fields))
        case let other: throw Rejection("unknown record type \"\(other)\" (expected \"result\" or \"failure\")")
        }
    }

    static let resultKeys: Set<String> = [
        "v", "type", "timestamp", "download_mbps", "upload_mbps", "ping_ms", "jitter_ms", "isp_name",
        "server_name", "server_location", "server_id", "engine", "server_url", "client_ip", "probe",
        "download_latency_ms", "upload_latency_ms", "packet_loss_pct", "download_bytes", "upload_bytes",
        "duration_ms", "streams",
    ]

    static let failureKeys: Set<String> = [
        "v", "type", "timestamp", "error", "error_kind", "engine", "server_url", "probe",
    ]

    private static func decodeResult(_ fields: Fields) throws(Rejection) -> SpeedResult {
        var extensions = SpeedResult.Extensions()
        extensions.engine = try fields.optionalString("engine")
        extensions.serverURL = try fields.optionalString("server_url")
        extensions.clientIP = try fields.optionalString("client_ip")
        extensions.probe = try fields.optionalString("probe")
        extensions.downloadLatencyMs = try fields.optionalMeasure("download_latency_ms")
        extensions.uploadLatencyMs = try fields.optionalMeasure("upload_latency_ms")
        extensions.packetLossPct = try fields.optionalMeasure("packet_loss_pct")
        if let loss = extensions.packetLossPct, loss > 100 {
            throw Rejection("\"packet_loss_pct\" must be at most 100, got \(loss)")
        }
        extensions.downloadBytes = try fields.optionalCount("download_bytes")
        extensions.uploadBytes = try fields.optionalCount("upload_bytes")
        extensions.durationMs = try fields.optionalCount("duration_ms")
        extensions.streams = try fields.optionalCount("streams")
        return SpeedResult(
            timestamp: try fields.timestamp(),
            downloadMbps: try fields.optionalMeasure("download_mbps"),
            uploadMbps: try fields.optionalMeasure("upload_mbps"),
            pingMs: try fields.requiredMeasure("ping_ms"),
            jitterMs: try fields.optionalMeasure("jitter_ms"),
            ispName: try fields.optionalString("isp_name"),
            serverName: try fields.optionalString("server_name") ?? "",
            serverLocation: try fields.optionalString("server_location") ?? "",
            serverID: try fields.serverID(),
            extensions: extensions,
            unknownFields: fields.unknown(excluding: resultKeys)
        )
    }

    private static func decodeFailure(_ fields: Fields) throws(Rejection) -> MeasurementFailure {
        let kindText = try fields.requiredString("error_kind")
        guard let kind = MeasurementFailure.ErrorKind(rawValue: kindText) else {
            let known = MeasurementFailure.ErrorKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw Rejection("unknown \"error_kind\" \"\(kindText)\" (expected one of \(known))")
        }
        let error = try fields.requiredString("error")
        guard !error.isEmpty else { throw Rejection("\"error\" must describe what failed, got an empty string") }
        return MeasurementFailure(
            timestamp: try fields.timestamp(),
            error: error,
            errorKind: kind,
            engine: try fields.optionalString("engine"),
            serverURL: try fields.optionalString("server_url"),
            probe: try fields.optionalString("probe"),
            unknownFields: fields.unknown(excluding: failureKeys)
        )
    }
}

/// Typed access to an object's fields, with rejections that name the field.
struct Fields {
    let object: JSONObject
    init(_ object: JSONObject) { self.object = object }

    func requiredString(_ key: String) throws(RecordDecoder.Rejection) -> String {
        guard let value = object[key] else { throw .init("missing required field \"\(key)\"") }
        guard case .string(let text) = value else {
            throw .init("\"\(key)\" must be a string, got \(value.typeName)")
        }
        return text
    }

    func optionalString(_ key: String) throws(RecordDecoder.Rejection) -> String? {
        switch object[key] {
        case .none, .some(.null): return nil
        case .some(.string(let text)): return text
        case .some(let other): throw .init("\"\(key)\" must be a string or null, got \(other.typeName)")
        }
    }

    func requiredMeasure(_ key: String) throws(RecordDecoder.Rejection) -> Double {
        guard let value = object[key] else { throw .init("missing required field \"\(key)\"") }
        guard case .some(let number) = try measure(key, value) else {
            throw .init("\"\(key)\" must be a number, got null")
        }
        return number
    }

    func optionalMeasure(_ key: String) throws(RecordDecoder.Rejection) -> Double? {
        guard let value = object[key] else { return nil }
        return try measure(key, value)
    }

    private func measure(_ key: String, _ value: JSONValue) throws(RecordDecoder.Rejection) -> Double? {
        if case .null = value { return nil }
        guard let number = value.doubleValue else {
            throw .init("\"\(key)\" must be a number or null, got \(value.typeName)")
        }
        guard number >= 0 else { throw .init("\"\(key)\" must not be negative, got \(number)") }
        return number
    }

    func optionalCount(_ key: String) throws(RecordDecoder.Rejection) -> Int64? {
        switch object[key] {
        case .none, .some(.null): return nil
        case .some(.integer(let count)) where count >= 0: return count
        case .some(.number(let number)) where number >= 0 && number == number.rounded() && number < 9.0e18:
            return Int64(number)
        case .some(let other):
            throw .init("\"\(key)\" must be a non-negative integer or null, got \(describe(other))")
        }
    }

    private func describe(_ value: JSONValue) -> String {
        switch value {
        case .integer(let integer): String(integer)
        case .number(let number): String(number)
        default: value.typeName
        }
    }

    func timestamp(_ key: String = "timestamp") throws(RecordDecoder.Rejection) -> Timestamp {
        let text = try requiredString(key)
        do {
            return try Timestamp(rfc3339: text)
        } catch {
            throw .init("\"\(key)\" \"\(text)\" \(error.message)")
        }
    }

    /// Python Hermes stored integer ids; the record carries them as strings.
    func serverID(_ key: String = "server_id") throws(RecordDecoder.Rejection) -> String? {
        switch object[key] {
        case .none, .some(.null): return nil
        case .some(.string(let text)): return text
        case .some(.integer(let integer)): return String(integer)
        case .some(let other): throw .init("\"\(key)\" must be a string, an integer or null, got \(other.typeName)")
        }
    }

    func unknown(excluding known: Set<String>) -> JSONObject {
        JSONObject(object.members.filter { !known.contains($0.key) })
    }
}
