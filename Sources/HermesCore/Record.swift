/// One line of the stream every Hermes tool reads and writes (docs/ARCHITECTURE.md, "The record").
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

    /// The values of the declared fields (`RecordSchema`).
    public var values: RecordValues {
        switch self {
        case .result(let result): result.values
        case .failure(let failure): failure.values
        }
    }

    public var unknownFields: JSONObject {
        switch self {
        case .result(let result): result.unknownFields
        case .failure(let failure): failure.unknownFields
        }
    }

    /// A record of `kind` from its parts; `values` holds only fields of that kind.
    public init(kind: Kind, timestamp: Timestamp, values: RecordValues, unknownFields: JSONObject = JSONObject()) {
        switch kind {
        case .result: self = .result(SpeedResult(timestamp: timestamp, values: values, unknownFields: unknownFields))
        case .failure:
            self = .failure(MeasurementFailure(timestamp: timestamp, values: values, unknownFields: unknownFields))
        }
    }

    public enum Kind: String, Sendable, CaseIterable {
        case result
        case failure
    }
}

/// A completed measurement. Field names and units follow Python Hermes `SpeedResult.to_dict()`;
/// the fields themselves are declared in `RecordSchema`, and the properties below name the ones
/// code uses.
public struct SpeedResult: Equatable, Sendable {
    public var timestamp: Timestamp
    /// Every declared field's value; the named properties read and write it.
    public var values: RecordValues
    /// Fields this version does not know, kept in input order for `--tee`.
    public var unknownFields: JSONObject

    public init(timestamp: Timestamp, values: RecordValues, unknownFields: JSONObject = JSONObject()) {
        self.timestamp = timestamp
        self.values = values
        self.unknownFields = unknownFields
    }

    public init(
        timestamp: Timestamp, downloadMbps: Double?, uploadMbps: Double?, pingMs: Double,
        jitterMs: Double? = nil, ispName: String? = nil, serverName: String = "",
        serverLocation: String = "", serverID: String? = nil, extensions: Extensions = Extensions(),
        unknownFields: JSONObject = JSONObject()
    ) {
        self.timestamp = timestamp
        self.values = extensions.values
        self.unknownFields = unknownFields
        self.downloadMbps = downloadMbps
        self.uploadMbps = uploadMbps
        self.pingMs = pingMs
        self.jitterMs = jitterMs
        self.ispName = ispName
        self.serverName = serverName
        self.serverLocation = serverLocation
        self.serverID = serverID
    }

    /// Mbit/s (10^6 bit/s); nil when the phase was skipped.
    public var downloadMbps: Double? {
        get { values[.downloadMbps].number }
        set { values[.downloadMbps] = FieldValue(newValue) }
    }
    public var uploadMbps: Double? {
        get { values[.uploadMbps].number }
        set { values[.uploadMbps] = FieldValue(newValue) }
    }
    public var pingMs: Double {
        get { values[.pingMs].number ?? 0 }
        set { values[.pingMs] = .number(newValue) }
    }
    public var jitterMs: Double? {
        get { values[.jitterMs].number }
        set { values[.jitterMs] = FieldValue(newValue) }
    }
    public var ispName: String? {
        get { values[.ispName].text }
        set { values[.ispName] = FieldValue(newValue) }
    }
    public var serverName: String {
        get { values[.serverName].text ?? "" }
        set { values[.serverName] = .text(newValue) }
    }
    public var serverLocation: String {
        get { values[.serverLocation].text ?? "" }
        set { values[.serverLocation] = .text(newValue) }
    }
    public var serverID: String? {
        get { values[.serverID].text }
        set { values[.serverID] = FieldValue(newValue) }
    }

    /// The optional fields Hermes added to the Python record, as a view of the same values.
    /// Setting it replaces those fields only; the Python ones stay.
    public var extensions: Extensions {
        get { Extensions(values: values) }
        set {
            for field in Self.hermesFields { values[field] = newValue.values[field] }
        }
    }

    static let hermesFields = RecordSchema.fields(of: .result).filter { $0.python == nil }

    /// The optional fields Hermes added to the Python record. Holds a whole `RecordValues`, so that
    /// a result built from it keeps every field set here; two are equal when Hermes's fields are.
    public struct Extensions: Equatable, Sendable, FieldsOfBothKinds {
        public var values: RecordValues

        public static func == (lhs: Extensions, rhs: Extensions) -> Bool {
            SpeedResult.hermesFields.allSatisfy { lhs.values[$0] == rhs.values[$0] }
        }

        public init(values: RecordValues) {
            self.values = values
        }

        public init(
            engine: String? = nil, serverURL: String? = nil, clientIP: String? = nil, probe: String? = nil,
            downloadLatencyMs: Double? = nil, uploadLatencyMs: Double? = nil, packetLossPct: Double? = nil,
            downloadBytes: Int64? = nil, uploadBytes: Int64? = nil, durationMs: Int64? = nil, streams: Int64? = nil,
            serverTiming: String? = nil, link: String? = nil, interface: String? = nil, ipVersion: Int64? = nil
        ) {
            values = RecordValues()
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
            self.serverTiming = serverTiming
            self.link = link
            self.interface = interface
            self.ipVersion = ipVersion
        }

        public var clientIP: String? {
            get { values[.clientIP].text }
            set { values[.clientIP] = FieldValue(newValue) }
        }
        public var downloadLatencyMs: Double? {
            get { values[.downloadLatencyMs].number }
            set { values[.downloadLatencyMs] = FieldValue(newValue) }
        }
        public var uploadLatencyMs: Double? {
            get { values[.uploadLatencyMs].number }
            set { values[.uploadLatencyMs] = FieldValue(newValue) }
        }
        public var packetLossPct: Double? {
            get { values[.packetLossPct].number }
            set { values[.packetLossPct] = FieldValue(newValue) }
        }
        public var downloadBytes: Int64? {
            get { values[.downloadBytes].integer }
            set { values[.downloadBytes] = FieldValue(newValue) }
        }
        public var uploadBytes: Int64? {
            get { values[.uploadBytes].integer }
            set { values[.uploadBytes] = FieldValue(newValue) }
        }
        public var durationMs: Int64? {
            get { values[.durationMs].integer }
            set { values[.durationMs] = FieldValue(newValue) }
        }
        public var streams: Int64? {
            get { values[.streams].integer }
            set { values[.streams] = FieldValue(newValue) }
        }
        public var serverTiming: String? {
            get { values[.serverTiming].text }
            set { values[.serverTiming] = FieldValue(newValue) }
        }
        public var ipVersion: Int64? {
            get { values[.ipVersion].integer }
            set { values[.ipVersion] = FieldValue(newValue) }
        }
    }
}

/// A measurement that did not complete. Gaps are data: failures are stored and alerted on.
public struct MeasurementFailure: Equatable, Sendable, FieldsOfBothKinds {
    public var timestamp: Timestamp
    public var values: RecordValues
    public var unknownFields: JSONObject

    public init(timestamp: Timestamp, values: RecordValues, unknownFields: JSONObject = JSONObject()) {
        self.timestamp = timestamp
        self.values = values
        self.unknownFields = unknownFields
    }

    public init(
        timestamp: Timestamp, error: String, errorKind: ErrorKind, engine: String? = nil,
        serverURL: String? = nil, probe: String? = nil, unknownFields: JSONObject = JSONObject()
    ) {
        self.timestamp = timestamp
        self.values = RecordValues()
        self.unknownFields = unknownFields
        self.error = error
        self.errorKind = errorKind
        self.engine = engine
        self.serverURL = serverURL
        self.probe = probe
    }

    /// One human sentence naming what failed and where.
    public var error: String {
        get { values[.error].text ?? "" }
        set { values[.error] = .text(newValue) }
    }
    public var errorKind: ErrorKind {
        get { values[.errorKind].text.flatMap(ErrorKind.init(rawValue:)) ?? .internal }
        set { values[.errorKind] = .text(newValue.rawValue) }
    }

    public enum ErrorKind: String, Sendable, CaseIterable {
        case dns, connect, tls, timeout, http, `protocol`
        case rateLimited = "rate_limited"
        case noServer = "no_server"
        case `internal`
    }
}

/// The fields results and failures both carry (`RecordField.Scope.both`), read and written the
/// same way on `SpeedResult.Extensions` and `MeasurementFailure`.
public protocol FieldsOfBothKinds {
    var values: RecordValues { get set }
}

extension FieldsOfBothKinds {
    public var engine: String? {
        get { values[.engine].text }
        set { values[.engine] = FieldValue(newValue) }
    }
    public var serverURL: String? {
        get { values[.serverURL].text }
        set { values[.serverURL] = FieldValue(newValue) }
    }
    public var probe: String? {
        get { values[.probe].text }
        set { values[.probe] = FieldValue(newValue) }
    }
    public var link: String? {
        get { values[.link].text }
        set { values[.link] = FieldValue(newValue) }
    }
    public var interface: String? {
        get { values[.interface].text }
        set { values[.interface] = FieldValue(newValue) }
    }
}
