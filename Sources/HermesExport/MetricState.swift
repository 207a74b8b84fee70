import HermesCore

/// What the Prometheus metrics describe, per series (probe, link, server; `SeriesKey`): the most
/// recent run, and the values of the most recent successful one. A failure marks its series' run
/// failed and keeps that series' last good values, so a dashboard keeps its last reading and an
/// alert can key on `hermes_last_run_success`; another path's failure touches neither.
///
/// The state survives between runs in the textfile itself (`TextfileReader`): the file is the
/// only copy, replaced atomically, so state and exposition can never disagree.
public struct MetricState: Equatable, Sendable {
    /// Each path's metrics. A file written while there was one series carries no key labels and
    /// is read back as `SeriesKey.unkeyed`, which the first series to arrive adopts.
    public var series: [SeriesKey: PathMetrics] = [:]
    /// What each push sink's spool holds at the end of the run, by sink name (`loki`,
    /// `remote_write`); set by the sinks, never read from a record.
    public var spools: [String: SpoolGauges] = [:]
    /// Label the samples with their series even when there is one (a remote-write push of one
    /// record of a stream that has several).
    public var labelsSeries = false

    /// A series not run for this long before the newest run of any is dropped: a server or link
    /// taken out of the configuration leaves the metrics within a week.
    public static let seriesRetentionMilliseconds: Int64 = 7 * 24 * 60 * 60 * 1000

    /// One path's metrics.
    public struct PathMetrics: Equatable, Sendable {
        public var lastRun: Timestamp?
        public var lastRunSucceeded = false
        public var lastGood: GoodValues?
        /// Every record folded in, by outcome, across runs: `hermes_measurements_total`.
        public var counts = Counts()

        public init(lastRun: Timestamp? = nil, lastRunSucceeded: Bool = false, lastGood: GoodValues? = nil) {
            self.lastRun = lastRun
            self.lastRunSucceeded = lastRunSucceeded
            self.lastGood = lastGood
        }

        /// Folds a record of this path in; see `MetricState.apply`.
        mutating func apply(_ record: Record, horizon: Timestamp) {
            switch record {
            case .result: counts.successes += 1
            case .failure(let failure):
                counts.failures += 1
                counts.failuresByKind[failure.errorKind, default: 0] += 1
            }
            let timestamp = record.timestamp
            func supersedes(_ kept: Timestamp) -> Bool { timestamp >= kept || kept > horizon }
            if lastRun.map(supersedes) ?? true {
                lastRun = timestamp
                lastRunSucceeded = record.kind == .result
            }
            if case .result(let result) = record, lastGood.map({ supersedes($0.timestamp) }) ?? true {
                lastGood = GoodValues(result)
            }
        }
    }

    /// The series in a stable order.
    public var keys: [SeriesKey] { series.keys.sorted() }

    /// Whether samples carry `probe`, `link` and `server` labels: with several series.
    public var isLabelled: Bool { labelsSeries || series.count > 1 }

    /// The one series of a single-path state (the unkeyed one when there are several): what
    /// code and tests written for one path read and set.
    private var soleKey: SeriesKey {
        if series.count == 1, let only = series.keys.first { return only }
        return .unkeyed
    }

    private var sole: PathMetrics {
        get { series[soleKey] ?? PathMetrics() }
        set { series[soleKey] = newValue }
    }

    public var lastRun: Timestamp? {
        get { sole.lastRun }
        set { sole.lastRun = newValue }
    }
    public var lastRunSucceeded: Bool {
        get { sole.lastRunSucceeded }
        set { sole.lastRunSucceeded = newValue }
    }
    public var lastGood: GoodValues? {
        get { sole.lastGood }
        set { sole.lastGood = newValue }
    }
    public var counts: Counts {
        get { sole.counts }
        set { sole.counts = newValue }
    }

    /// Whether any series has run.
    public var hasRun: Bool { series.values.contains { $0.lastRun != nil } }

    /// Counters kept across runs: read back from the textfile, incremented per record. A missing
    /// textfile starts them at 0, which Prometheus's `rate()` takes as a counter reset.
    public struct Counts: Equatable, Sendable {
        public var successes = 0
        public var failures = 0
        /// Failures by `error_kind`; every documented kind is exported, 0 included.
        public var failuresByKind: [MeasurementFailure.ErrorKind: Int] = [:]

        public init() {}
    }

    /// `hermes_spool_*{sink}`.
    public struct SpoolGauges: Equatable, Sendable {
        public var entries = 0
        /// When the oldest entry waiting was spooled; nil when the spool is empty.
        public var oldestSpooled: Timestamp?
        /// Entries dropped at the spool's bounds, across runs.
        public var dropped = 0

        public init(entries: Int = 0, oldestSpooled: Timestamp? = nil, dropped: Int = 0) {
            self.entries = entries
            self.oldestSpooled = oldestSpooled
            self.dropped = dropped
        }
    }

    public init(lastRun: Timestamp? = nil, lastRunSucceeded: Bool = false, lastGood: GoodValues? = nil) {
        if lastRun != nil || lastGood != nil {
            series[.unkeyed] = PathMetrics(lastRun: lastRun, lastRunSucceeded: lastRunSucceeded, lastGood: lastGood)
        }
    }

    /// The values of a successful measurement, in base units.
    public struct GoodValues: Equatable, Sendable {
        public var timestamp: Timestamp
        public var downloadBytesPerSecond: Double?
        public var uploadBytesPerSecond: Double?
        public var idleLatencySeconds: Double?
        public var downloadLatencySeconds: Double?
        public var uploadLatencySeconds: Double?
        public var jitterSeconds: Double?
        public var packetLossRatio: Double?
        public var durationSeconds: Double?
        /// Responsiveness under working conditions, by direction (RPM), and its confidence.
        public var downloadRPM: Double?
        public var uploadRPM: Double?
        /// The parallel test's score, both directions loaded at once.
        public var bothRPM: Double?
        public var responsivenessConfidence: String?
        /// The recorded latency increase, else the worse loaded latency less the idle one.
        public var latencyIncreaseSeconds: Double?
        public var info: Info

        public init(
            timestamp: Timestamp, downloadBytesPerSecond: Double? = nil, uploadBytesPerSecond: Double? = nil,
            idleLatencySeconds: Double? = nil, downloadLatencySeconds: Double? = nil,
            uploadLatencySeconds: Double? = nil, jitterSeconds: Double? = nil, packetLossRatio: Double? = nil,
            durationSeconds: Double? = nil, downloadRPM: Double? = nil, uploadRPM: Double? = nil,
            bothRPM: Double? = nil,
            responsivenessConfidence: String? = nil, latencyIncreaseSeconds: Double? = nil, info: Info = Info()
        ) {
            self.timestamp = timestamp
            self.downloadBytesPerSecond = downloadBytesPerSecond
            self.uploadBytesPerSecond = uploadBytesPerSecond
            self.idleLatencySeconds = idleLatencySeconds
            self.downloadLatencySeconds = downloadLatencySeconds
            self.uploadLatencySeconds = uploadLatencySeconds
            self.jitterSeconds = jitterSeconds
            self.packetLossRatio = packetLossRatio
            self.durationSeconds = durationSeconds
            self.downloadRPM = downloadRPM
            self.uploadRPM = uploadRPM
            self.bothRPM = bothRPM
            self.responsivenessConfidence = responsivenessConfidence
            self.latencyIncreaseSeconds = latencyIncreaseSeconds
            self.info = info
        }

        /// Cloudflare's AIM ratings of these values (`QualityRating`): every use case they have
        /// the inputs for.
        public var ratings: [(useCase: UseCase, level: QualityLevel)] {
            var values: [QualityRating.Input: Double] = [:]
            values[.latency] = idleLatencySeconds.map { Units.milliseconds(seconds: $0) }
            values[.jitter] = jitterSeconds.map { Units.milliseconds(seconds: $0) }
            values[.packetLoss] = packetLossRatio.map { $0 * 100 }
            values[.download] = downloadBytesPerSecond.map { Units.megabitsPerSecond(bytesPerSecond: $0) }
            values[.loadedLatencyIncrease] = latencyIncreaseSeconds.map { Units.milliseconds(seconds: $0) }
            guard values[.latency] != nil else { return [] }
            return UseCase.allCases.compactMap { useCase in
                QualityRating.rate(useCase, values).map { (useCase, $0) }
            }
        }

        public init(_ result: SpeedResult) {
            let extensions = result.extensions
            self.init(
                timestamp: result.timestamp,
                downloadBytesPerSecond: result.downloadMbps.map(Units.bytesPerSecond(megabitsPerSecond:)),
                uploadBytesPerSecond: result.uploadMbps.map(Units.bytesPerSecond(megabitsPerSecond:)),
                idleLatencySeconds: Units.seconds(milliseconds: result.pingMs),
                downloadLatencySeconds: extensions.downloadLatencyMs.map(Units.seconds(milliseconds:)),
                uploadLatencySeconds: extensions.uploadLatencyMs.map(Units.seconds(milliseconds:)),
                jitterSeconds: result.jitterMs.map(Units.seconds(milliseconds:)),
                packetLossRatio: extensions.packetLossPct.map { Units.rounded($0 / 100, decimals: 12) },
                durationSeconds: extensions.durationMs.map { Double($0) / 1000 },
                downloadRPM: result.values[.downloadResponsivenessRPM].number,
                uploadRPM: result.values[.uploadResponsivenessRPM].number,
                // A score with neither direction's is the parallel test's.
                bothRPM: result.values[.downloadResponsivenessRPM].isAbsent
                    && result.values[.uploadResponsivenessRPM].isAbsent
                    ? result.values[.responsivenessRPM].number : nil,
                responsivenessConfidence: result.values[.responsivenessConfidence].text,
                latencyIncreaseSeconds: latencyIncreaseMilliseconds(of: result).map(Units.seconds(milliseconds:)),
                info: Info(
                    serverID: result.serverID ?? "", serverName: result.serverName,
                    serverLocation: result.serverLocation, isp: result.ispName ?? "",
                    engine: extensions.engine ?? "", probe: extensions.probe ?? ""))
        }
    }

    /// The labels of `hermes_result_info`: what was measured against, and from where.
    public struct Info: Equatable, Sendable {
        public var serverID = ""
        public var serverName = ""
        public var serverLocation = ""
        public var isp = ""
        public var engine = ""
        public var probe = ""

        public init(
            serverID: String = "", serverName: String = "", serverLocation: String = "", isp: String = "",
            engine: String = "", probe: String = ""
        ) {
            self.serverID = serverID
            self.serverName = serverName
            self.serverLocation = serverLocation
            self.isp = isp
            self.engine = engine
            self.probe = probe
        }
    }

    /// Folds a record in. Records may arrive out of order (a backfill): an older record never
    /// replaces a newer run or newer good values. A value kept from after `horizon` (a record
    /// dated in the future by a wrong clock) counts as older than anything, so one bad timestamp
    /// cannot freeze the metrics until someone deletes the textfile.
    public mutating func apply(_ record: Record, horizon: Timestamp = .latest) {
        series[key(for: record), default: PathMetrics()].apply(record, horizon: horizon)
    }

    /// The key `record` is kept under (`Dictionary.key(for:)`): the unkeyed series of a file
    /// written while there was one path belongs to the first series that arrives, so an upgrade,
    /// or a second path added later, keeps the first one's counters and last good values.
    public mutating func key(for record: Record) -> SeriesKey { series.key(for: record) }

    /// Drops the series whose last run is more than `seriesRetentionMilliseconds` before the newest.
    public mutating func dropRetiredSeries() {
        guard let newest = series.values.compactMap(\.lastRun).max() else { return }
        let cutoff = newest.adding(milliseconds: -Self.seriesRetentionMilliseconds)
        series = series.filter { ($0.value.lastRun ?? newest) >= cutoff }
    }

    /// What the metrics of `record`'s series said at its own time, for a push that stamps samples
    /// with it (remote write): the record's run and outcome, its own values when it is a result,
    /// else the last good values if they are older, and the counters as they stand (this record
    /// included); labelled with its series when this state has several.
    public func asOf(_ record: Record) -> MetricState {
        let key = SeriesKey(record)
        let path = series[key] ?? series[soleKey] ?? PathMetrics()
        var metrics = PathMetrics(lastRun: record.timestamp, lastRunSucceeded: record.kind == .result)
        metrics.counts = path.counts
        switch record {
        case .result(let result): metrics.lastGood = GoodValues(result)
        case .failure: metrics.lastGood = path.lastGood.flatMap { $0.timestamp <= record.timestamp ? $0 : nil }
        }
        var state = MetricState()
        state.series[key] = metrics
        state.labelsSeries = isLabelled
        return state
    }

    /// How far past the clock a kept timestamp may be before it stops ordering new records.
    public static let futureSlackMilliseconds: Int64 = 10 * 60 * 1000
}

/// Conversions from the record's units to Prometheus base units and back. Results are rounded to
/// a fixed number of decimals (far below measurement precision) so that 9.5 ms becomes 0.0095 s,
/// not 0.009500000000000001, and converting back gives the number the record held.
public enum Units {
    /// 1 Mbit/s = 10^6 bit/s = 125,000 bytes/s.
    public static func bytesPerSecond(megabitsPerSecond: Double) -> Double {
        rounded(megabitsPerSecond * 125_000, decimals: 6)
    }
    public static func megabitsPerSecond(bytesPerSecond: Double) -> Double {
        rounded(bytesPerSecond / 125_000, decimals: 9)
    }
    public static func seconds(milliseconds: Double) -> Double { rounded(milliseconds / 1000, decimals: 12) }
    public static func milliseconds(seconds: Double) -> Double { rounded(seconds * 1000, decimals: 9) }
    public static func seconds(_ timestamp: Timestamp) -> Double { Double(timestamp.millisecondsSinceEpoch) / 1000 }
    public static func timestamp(seconds: Double) -> Timestamp? {
        guard seconds.isFinite, abs(seconds) < 1e14 else { return nil }
        return Timestamp(millisecondsSinceEpoch: Int64((seconds * 1000).rounded()))
    }

    /// Both operands of the division are exact integers, so IEEE division gives the double
    /// nearest the decimal, the one its shortest text names. Values too large to scale exactly
    /// are returned as they are.
    static func rounded(_ value: Double, decimals: Int) -> Double {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value * scale).rounded()
        guard value.isFinite, abs(scaled) < 9e15 else { return value }
        return scaled / scale
    }
}
