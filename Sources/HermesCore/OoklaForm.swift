/// Lines of the official Ookla CLI (`speedtest --format=json|jsonl`).
///
/// `bandwidth` is bytes/s, so Mbit/s is bandwidth / 125 000 (one division, correctly rounded).
/// A missing phase is null, not 0: the Python Hermes turned an empty object into a 0/0/0 "success".
public enum OoklaForm {
    static let progressTypes: Set<String> = ["testStart", "ping", "download", "upload"]
    static let engine = "ookla-cli"
    /// The keys of Ookla lines that are not record fields, for the parser's key table.
    static let keys = [
        "ping", "download", "upload", "packetLoss", "isp", "interface", "server", "result", "latency", "jitter",
        "bandwidth", "bytes", "elapsed", "iqm", "low", "high", "id", "host", "port", "name", "location", "country",
        "ip", "externalIp", "internalIp", "macAddr", "isVpn", "url", "persisted", "level", "message",
    ]

    static func decodeResult(_ object: JSONObject) throws(RecordDecoder.Rejection) -> SpeedResult {
        var fields = Fields(object)
        guard var ping = try section(object, "ping").map(Fields.init) else {
            throw .init("Ookla result has no \"ping\" object")
        }
        var download = try section(object, "download").map(Fields.init)
        var upload = try section(object, "upload").map(Fields.init)
        var server = try section(object, "server").map(Fields.init)
        var interface = try section(object, "interface").map(Fields.init)

        let location = [try server?.optionalString("location"), try server?.optionalString("country")]
            .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
        var extensions = SpeedResult.Extensions(engine: engine)
        extensions.clientIP = try interface?.optionalString("externalIp")
        extensions.packetLossPct = try fields.optionalMeasure("packetLoss")
        extensions.downloadLatencyMs = try loadedLatency(download?.object, phase: "download")
        extensions.uploadLatencyMs = try loadedLatency(upload?.object, phase: "upload")
        extensions.downloadBytes = try download?.optionalCount("bytes")
        extensions.uploadBytes = try upload?.optionalCount("bytes")
        if let serverHost = try server?.optionalString("host"), !serverHost.isEmpty {
            extensions.serverURL = serverHost
        }

        return SpeedResult(
            timestamp: try fields.timestamp(),
            downloadMbps: try download?.optionalMeasure("bandwidth").map { $0 / 125_000 },
            uploadMbps: try upload?.optionalMeasure("bandwidth").map { $0 / 125_000 },
            pingMs: try ping.requiredMeasure("latency"),
            jitterMs: try ping.optionalMeasure("jitter"),
            ispName: try fields.optionalString("isp"),
            serverName: try server?.optionalString("name") ?? "",
            serverLocation: location,
            serverID: try server?.serverID("id"),
            extensions: extensions
        )
    }

    /// An error log becomes a failure record; info and warning logs carry no record.
    static func decodeLog(_ object: JSONObject) throws(RecordDecoder.Rejection) -> MeasurementFailure? {
        var fields = Fields(object)
        guard try fields.optionalString("level") == "error" else { return nil }
        let message = try fields.optionalString("message") ?? "the Ookla CLI reported an error without a message"
        return MeasurementFailure(
            timestamp: try fields.timestamp(),
            error: "Ookla speedtest CLI: \(message)",
            errorKind: classify(message),
            engine: engine
        )
    }

    /// The error kind an Ookla CLI error message describes.
    public static func classify(_ message: String) -> MeasurementFailure.ErrorKind {
        let lowered = message.lowercased()
        if lowered.contains("limit reached") || lowered.contains("too many requests") { return .rateLimited }
        if lowered.contains("resolve") || lowered.contains("dns") { return .dns }
        if lowered.contains("timeout") || lowered.contains("timed out") { return .timeout }
        if lowered.contains("no servers") || lowered.contains("server selection") { return .noServer }
        if lowered.contains("ssl") || lowered.contains("tls") || lowered.contains("certificate") { return .tls }
        if lowered.contains("connect") { return .connect }
        return .protocol
    }

    private static func section(_ object: JSONObject, _ key: String) throws(RecordDecoder.Rejection) -> JSONObject? {
        switch object[key] {
        case .none, .some(.null): return nil
        case .some(.object(let inner)): return inner
        case .some(let other): throw .init("Ookla \"\(key)\" must be an object, got \(other.typeName)")
        }
    }

    private static func loadedLatency(_ phase: JSONObject?, phase name: String) throws(RecordDecoder.Rejection)
        -> Double?
    {
        guard let phase else { return nil }
        switch phase["latency"] {
        case .none, .some(.null): return nil
        case .some(.object(let latency)):
            var fields = Fields(latency)
            return try fields.optionalMeasure("iqm")
        case .some(let other): throw .init("Ookla \"\(name).latency\" must be an object, got \(other.typeName)")
        }
    }
}
