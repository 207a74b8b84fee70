/// The record's fields, declared once (docs/ARCHITECTURE.md, "The record").
///
/// The canonical encoder, both decoders, the Python Hermes form, the CSV, the SQLite schema and its
/// bindings, and the benchmark's reference SQL all walk this list, so a field is added here and
/// nowhere else. Its order is the canonical key order of both record kinds.
public enum RecordSchema {
    public static let fields: [RecordField] = RecordField.numbered([
        .init("timestamp", .timestamp, .both, .required, python: .always, "when the test finished (UTC)"),
        .init(
            "download_mbps", .measure, .result, .nullable, unit: "Mbit/s", python: .always,
            ookla: "download.bandwidth / 125000", "download throughput; null when not measured"),
        .init(
            "upload_mbps", .measure, .result, .nullable, unit: "Mbit/s", python: .always,
            ookla: "upload.bandwidth / 125000", "upload throughput; null when not measured"),
        .init(
            "ping_ms", .measure, .result, .required, unit: "ms", python: .always, ookla: "ping.latency",
            "idle latency, median of the samples"),
        .init(
            "jitter_ms", .measure, .result, .nullable, unit: "ms", python: .later, ookla: "ping.jitter",
            "mean absolute difference of consecutive idle round trips"),
        .init("isp_name", .text, .result, .nullable, python: .later, ookla: "isp", "the client's ISP"),
        .init(
            "server_name", .text, .result, .defaulted(""), python: .always, ookla: "server.name",
            "the test server's name"),
        .init(
            "server_location", .text, .result, .defaulted(""), python: .always,
            ookla: "server.location, server.country", "\"City, Country\" of the test server"),
        .init(
            "server_id", .identifier, .result, .nullable, python: .later, ookla: "server.id",
            "the server's id; integers from old data become their digits"),
        .init("error", .sentence, .failure, .required, "one sentence naming what failed and where"),
        .init("error_kind", .errorKind, .failure, .required, "what kind of failure (see ErrorKind)"),
        .init("engine", .text, .both, .optional, ookla: "\"ookla-cli\"", "the engine that ran the test"),
        .init("server_url", .text, .both, .optional, ookla: "server.host", "the URL or host measured against"),
        .init(
            "client_ip", .text, .result, .optional, ookla: "interface.externalIp",
            "the client's address as the server saw it"),
        .init("probe", .text, .both, .optional, "the probe's name (host name or configured)"),
        .init(
            "download_latency_ms", .measure, .result, .optional, unit: "ms", ookla: "download.latency.iqm",
            "median round trip while downloading"),
        .init(
            "upload_latency_ms", .measure, .result, .optional, unit: "ms", ookla: "upload.latency.iqm",
            "median round trip while uploading"),
        .init(
            "packet_loss_pct", .percentage, .result, .optional, unit: "%", ookla: "packetLoss",
            "packets lost, when the engine measures it"),
        .init(
            "download_bytes", .count, .result, .optional, unit: "bytes", ookla: "download.bytes",
            "bytes received by the test"),
        .init(
            "upload_bytes", .count, .result, .optional, unit: "bytes", ookla: "upload.bytes",
            "bytes sent by the test"),
        .init("duration_ms", .count, .result, .optional, unit: "ms", "how long the whole test took"),
        .init("streams", .count, .result, .optional, "parallel connections per direction"),
        .init(
            "server_timing", .text, .result, .optional,
            "the server's own time subtracted from each round trip: cfRequestDuration, cfSpeedEdge+cfSpeedWorker (summed), or none; absent when the engine has no such header"
        ),
        .init(
            "link", .text, .both, .optional,
            "the user's name for the path measured (--link; default the interface); part of the series key"),
        .init(
            "interface", .text, .both, .optional,
            "the interface or source address every connection was bound to (--interface)"),
        .init(
            "ip_version", .count, .result, .optional,
            "4 or 6: the address family the test's connections used, read from the connection"),
        .init(
            "responsiveness_rpm", .measure, .result, .optional, unit: "RPM",
            "responsiveness under working conditions (draft-ietf-ippm-responsiveness): the concurrent test's score, or the worse direction's when they ran one after the other"
        ),
        .init(
            "download_responsiveness_rpm", .measure, .result, .optional, unit: "RPM",
            "responsiveness while only the download loaded the link"),
        .init(
            "upload_responsiveness_rpm", .measure, .result, .optional, unit: "RPM",
            "responsiveness while only the upload loaded the link"),
        .init(
            "responsiveness_confidence", .choice(ResponsivenessConfidence.allCases.map(\.rawValue)), .result, .optional,
            "low: fewer than 4 intervals ran; medium: not stable in time; high: stable (the lower of the directions')"
        ),
        .init(
            "responsiveness_self_probe", .choice(["http2", "tcp_info"]), .result, .optional,
            "how the load connections' own round trips were taken: a GET multiplexed on them (HTTP/2), or the kernel's smoothed RTT of them (TCP_INFO, over HTTP/1.1)"
        ),
        .init(
            "responsiveness_interval_ms", .count, .result, .optional, unit: "ms",
            "the responsiveness test's interval (the draft's ID)"),
        .init(
            "latency_increase_ms", .measure, .result, .optional, unit: "ms",
            "the worse direction's loaded latency less the idle latency"),
        .init(
            "bufferbloat_grade", .choice(BufferbloatGrade.allCases.map(\.rawValue)), .result, .optional,
            "A+, A, B, C, D or F from latency_increase_ms (DSLReports' bands: < 5, 30, 60, 200, 400 ms)"),
    ])

    /// The fields of one kind of record, in canonical order.
    public static func fields(of kind: Record.Kind) -> [RecordField] {
        kind == .result ? resultFields : failureFields
    }

    private static let resultFields = fields.filter { $0.scope != .failure }
    private static let failureFields = fields.filter { $0.scope != .result }

    /// The field named `key`. Only for the fields code refers to by name, which the schema tests
    /// check are all declared.
    public static func field(_ key: String) -> RecordField {
        guard let field = fields.first(where: { $0.key == key }) else {
            preconditionFailure("\"\(key)\" is not a declared record field")
        }
        return field
    }
}

/// One field of the record contract: its JSON key (also its SQLite column and, for the Python
/// fields, its CSV column), what values it takes, and which records carry it.
public struct RecordField: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// RFC 3339 text; the record's own `timestamp`.
        case timestamp
        case text
        /// Text that must not be empty.
        case sentence
        /// Text; an integer (as the Python Hermes stored ids) is read as its digits.
        case identifier
        /// One of `MeasurementFailure.ErrorKind`'s raw values.
        case errorKind
        /// One of these words.
        case choice([String])
        /// A finite number ≥ 0.
        case measure
        /// A finite number from 0 to 100.
        case percentage
        /// An integer ≥ 0.
        case count

        public var isNumeric: Bool {
            switch self {
            case .measure, .percentage, .count: true
            case .timestamp, .text, .sentence, .identifier, .errorKind, .choice: false
            }
        }
    }

    public enum Scope: Sendable, Equatable {
        case result, failure, both
    }

    public enum Presence: Sendable, Equatable {
        /// Present and not null.
        case required
        /// Always written, `null` when unknown.
        case nullable
        /// Always written; absent or `null` reads as this text.
        case defaulted(String)
        /// Written only when known.
        case optional
    }

    /// Where the Python Hermes had the field: in every version, or added in a later one (so an
    /// old `to_dict()` line may lack it). Python fields are its CSV columns, in this order.
    public enum PythonPresence: Sendable, Equatable {
        case always, later
    }

    public let key: String
    public let kind: Kind
    public let scope: Scope
    public let presence: Presence
    public let unit: String?
    public let python: PythonPresence?
    /// Where an Ookla CLI result has it (documentation; `OoklaForm` converts).
    public let ookla: String?
    public let meaning: String
    /// The field's position in `RecordSchema.fields`, and so its slot in `RecordValues`.
    public private(set) var index = 0

    init(
        _ key: String, _ kind: Kind, _ scope: Scope, _ presence: Presence, unit: String? = nil,
        python: PythonPresence? = nil, ookla: String? = nil, _ meaning: String
    ) {
        self.key = key
        self.kind = kind
        self.scope = scope
        self.presence = presence
        self.unit = unit
        self.python = python
        self.ookla = ookla
        self.meaning = meaning
    }

    static func numbered(_ fields: [RecordField]) -> [RecordField] {
        fields.enumerated().map { position, field in
            var numbered = field
            numbered.index = position
            return numbered
        }
    }

    public func applies(to kind: Record.Kind) -> Bool {
        switch scope {
        case .both: true
        case .result: kind == .result
        case .failure: kind == .failure
        }
    }

    public var description: String { key }
}

/// The fields code refers to by name. A field nothing refers to needs no line here.
extension RecordField {
    public static let timestamp = RecordSchema.field("timestamp")
    public static let downloadMbps = RecordSchema.field("download_mbps")
    public static let uploadMbps = RecordSchema.field("upload_mbps")
    public static let pingMs = RecordSchema.field("ping_ms")
    public static let jitterMs = RecordSchema.field("jitter_ms")
    public static let ispName = RecordSchema.field("isp_name")
    public static let serverName = RecordSchema.field("server_name")
    public static let serverLocation = RecordSchema.field("server_location")
    public static let serverID = RecordSchema.field("server_id")
    public static let error = RecordSchema.field("error")
    public static let errorKind = RecordSchema.field("error_kind")
    public static let engine = RecordSchema.field("engine")
    public static let serverURL = RecordSchema.field("server_url")
    public static let clientIP = RecordSchema.field("client_ip")
    public static let probe = RecordSchema.field("probe")
    public static let downloadLatencyMs = RecordSchema.field("download_latency_ms")
    public static let uploadLatencyMs = RecordSchema.field("upload_latency_ms")
    public static let packetLossPct = RecordSchema.field("packet_loss_pct")
    public static let downloadBytes = RecordSchema.field("download_bytes")
    public static let uploadBytes = RecordSchema.field("upload_bytes")
    public static let durationMs = RecordSchema.field("duration_ms")
    public static let streams = RecordSchema.field("streams")
    public static let serverTiming = RecordSchema.field("server_timing")
    public static let link = RecordSchema.field("link")
    public static let interface = RecordSchema.field("interface")
    public static let ipVersion = RecordSchema.field("ip_version")
    public static let responsivenessRPM = RecordSchema.field("responsiveness_rpm")
    public static let downloadResponsivenessRPM = RecordSchema.field("download_responsiveness_rpm")
    public static let uploadResponsivenessRPM = RecordSchema.field("upload_responsiveness_rpm")
    public static let responsivenessConfidence = RecordSchema.field("responsiveness_confidence")
    public static let responsivenessSelfProbe = RecordSchema.field("responsiveness_self_probe")
    public static let responsivenessIntervalMs = RecordSchema.field("responsiveness_interval_ms")
    public static let latencyIncreaseMs = RecordSchema.field("latency_increase_ms")
    public static let bufferbloatGrade = RecordSchema.field("bufferbloat_grade")
}

/// One field's value in a record. Which case a field holds follows from its kind: text kinds hold
/// `.text`, measures and percentages `.number`, counts `.integer`.
public enum FieldValue: Sendable, Equatable {
    case absent
    case text(String)
    case number(Double)
    case integer(Int64)

    public init(_ text: String?) { self = text.map(FieldValue.text) ?? .absent }
    public init(_ number: Double?) { self = number.map(FieldValue.number) ?? .absent }
    public init(_ integer: Int64?) { self = integer.map(FieldValue.integer) ?? .absent }

    public var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }

    public var number: Double? {
        if case .number(let number) = self { return number }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let integer) = self { return integer }
        return nil
    }

    public var isAbsent: Bool {
        if case .absent = self { return true }
        return false
    }
}

/// The values of a record's fields, one slot per declared field (the timestamp's slot is unused:
/// records keep it as a `Timestamp`).
public struct RecordValues: Sendable, Equatable {
    private var slots: ContiguousArray<FieldValue>

    public init() {
        slots = ContiguousArray(repeating: .absent, count: RecordSchema.fields.count)
    }

    /// Values written straight into their slots by `fill`, which must initialize every slot once,
    /// in order (the fast decoder does, as fields arrive in declaration order).
    init(fillingInOrder fill: (UnsafeMutableBufferPointer<FieldValue>) -> Void) {
        let count = RecordSchema.fields.count
        slots = ContiguousArray(unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(buffer)
            initialized = count
        }
    }

    public subscript(field: RecordField) -> FieldValue {
        get { slots[field.index] }
        set { slots[field.index] = newValue }
    }

    /// Every slot at once, by field index, for hot paths that walk many fields per record.
    public func withSlots<Result>(_ body: (UnsafeBufferPointer<FieldValue>) throws -> Result) rethrows -> Result {
        try slots.withUnsafeBufferPointer(body)
    }

    /// By the field's index, for hot paths that keep indexes rather than declarations.
    public subscript(slot index: Int) -> FieldValue {
        get { slots[index] }
        set { slots[index] = newValue }
    }
}
