/// One line of the stream every Hermes tool reads and writes (DESIGN.md §1).
public enum Record: Equatable, Sendable {
    case result(SpeedResult)
    case failure(MeasurementFailure)

    public static let schemaVersion: Int64 = 1

    public var timestamp: Timestamp {
        switch self {
        case .result(let result): result.timestamp
        case .failure(let failure): failure.timestamp
        }
    }

    public var kind: Kind {
        switch self {
        case .result: .result
        case .failure: .failure
        }
    }

    public enum Kind: String, Sendable, CaseIterable {
        case result
        case failure
    }
}

/// A completed measurement. Field names and units follow Python Hermes `SpeedResult.to_dict()`.
public struct SpeedResult: Equatable, Sendable {
    public var timestamp: Timestamp
    /// Mbit/s (10^6 bit/s); nil when the phase was skipped.
    public var downloadMbps: Double?
    public var uploadMbps: Double?
    public var pingMs: Double
    public var jitterMs: Double?
    public var ispName: String?
    public var serverName: String
    public var serverLocation: String
    public var serverID: String?
    public var extensions: Extensions
    /// Fields this version does not know, kept in input order for `--tee`.
    public var unknownFields: JSONObject

    public init(
        timestamp: Timestamp, downloadMbps: Double?, uploadMbps: Double?, pingMs: Double,
        jitterMs: Double? = nil, ispName: String? = nil, serverName: String = "",
        serverLocation: String = "", serverID: String? = nil, extensions: Extensions = Extensions(),
        unknownFields: JSONObject = JSONObject()
    ) {
        self.timestamp = timestamp
        self.downloadMbps = downloadMbps
        self.uploadMbps = uploadMbps
        self.pingMs = pingMs
        self.jitterMs = jitterMs
        self.ispName = ispName
        self.serverName = serverName
        self.serverLocation = serverLocation
        self.serverID = serverID
        self.extensions = extensions
        self.unknownFields = unknownFields
    }

    /// The optional fields Hermes added to the Python record.
    public struct Extensions: Equatable, Sendable {
        public var engine: String?
        public var serverURL: String?
        public var clientIP: String?
        public var probe: String?
        public var downloadLatencyMs: Double?
        public var uploadLatencyMs: Double?
        public var packetLossPct: Double?
        public var downloadBytes: Int64?
        public var uploadBytes: Int64?
        public var durationMs: Int64?
        public var streams: Int64?

        public init(
            engine: String? = nil, serverURL: String? = nil, clientIP: String? = nil, probe: String? = nil,
            downloadLatencyMs: Double? = nil, uploadLatencyMs: Double? = nil, packetLossPct: Double? = nil,
            downloadBytes: Int64? = nil, uploadBytes: Int64? = nil, durationMs: Int64? = nil, streams: Int64? = nil
        ) {
            self.engine = engine
            self.serverURL = serverURL
            self.clientIP = clientIP
            self.probe = probe
            self.downloadLatencyMs = downloadLatencyMs
            self.uploadLatencyMs = uploadLatencyMs
            self.packetLossPct = packetLossPct
            self.downloadBytes = downloadBytes
            self.uploadBytes = uploadBytes
            self.durationMs = durationMs
            self.streams = streams
        }
    }
}

/// A measurement that did not complete. Gaps are data: failures are stored and alerted on.
public struct MeasurementFailure: Equatable, Sendable {
    public var timestamp: Timestamp
    /// One human sentence naming what failed and where.
    public var error: String
    public var errorKind: ErrorKind
    public var engine: String?
    public var serverURL: String?
    public var probe: String?
    public var unknownFields: JSONObject

    public init(
        timestamp: Timestamp, error: String, errorKind: ErrorKind, engine: String? = nil,
        serverURL: String? = nil, probe: String? = nil, unknownFields: JSONObject = JSONObject()
    ) {
        self.timestamp = timestamp
        self.error = error
        self.errorKind = errorKind
        self.engine = engine
        self.serverURL = serverURL
        self.probe = probe
        self.unknownFields = unknownFields
    }

    public enum ErrorKind: String, Sendable, CaseIterable {
        case dns, connect, tls, timeout, http, `protocol`
        case rateLimited = "rate_limited"
        case noServer = "no_server"
        case `internal`
    }
}
