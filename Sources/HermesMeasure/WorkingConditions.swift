import HermesCore

/// The parameters of draft-ietf-ippm-responsiveness-09, section "Parameters" (names as there).
public struct ResponsivenessParameters: Sendable, Equatable {
    /// MAD: intervals in a moving average.
    public var movingAverageIntervals = 4
    /// ID: the interval; 5 s in -09 ("pending further investigation"; 1 s before).
    public var interval: Duration = .seconds(5)
    /// TMP: the share of probes a single-sided trimmed mean keeps (the best 95 %).
    public var trimmedMeanKept = 0.95
    /// SDT: a series is stable when its standard deviation is within this share of its latest value.
    public var stabilityTolerance = 0.05
    /// INP, INC, MNP: load connections at the start, added per interval, at most.
    public var initialConnections = 1
    public var connectionsAdded = 1
    public var maxConnections = 16
    /// MPS: probes per second, at most.
    public var maxProbesPerSecond = 100
    /// PTC: the share of the measured capacity probes may use, at most.
    public var probeCapacityShare = 0.05

    public init() {}
}

/// The probes completed in one interval, in milliseconds.
public struct IntervalProbes: Sendable, Equatable {
    /// Foreign probes, on new connections: TCP handshake, TLS handshake per round trip (empty
    /// without TLS), and the small GET's request/response time.
    public var tcp: [Double] = []
    public var tls: [Double] = []
    public var http: [Double] = []
    /// Self probes, on the load-generating connections.
    public var loaded: [Double] = []

    public init(tcp: [Double] = [], tls: [Double] = [], http: [Double] = [], loaded: [Double] = []) {
        self.tcp = tcp
        self.tls = tls
        self.http = http
        self.loaded = loaded
    }

    static func merged(_ intervals: some Sequence<IntervalProbes>) -> IntervalProbes {
        intervals.reduce(into: IntervalProbes()) { all, one in
            all.tcp += one.tcp
            all.tls += one.tls
            all.http += one.http
            all.loaded += one.loaded
        }
    }
}

/// The draft's aggregation: Foreign = 60000 / mean(TM(tcp_f), TM(tls_f), TM(http_f)) (TLS left
/// out of the mean when the connections had none), Loaded = 60000 / TM(http_l), responsiveness =
/// (Foreign + Loaded) / 2, with TM the single-sided trimmed mean.
public struct ResponsivenessScore: Sendable, Equatable {
    public var rpm: Double
    public var foreignRPM: Double
    public var loadedRPM: Double

    public init?(_ probes: IntervalProbes, keeping kept: Double) {
        guard let tcp = trimmedMean(probes.tcp, keeping: kept), let http = trimmedMean(probes.http, keeping: kept),
            let loaded = trimmedMean(probes.loaded, keeping: kept)
        else { return nil }
        var foreign = [tcp, http]
        if let tls = trimmedMean(probes.tls, keeping: kept) { foreign.append(tls) }
        let foreignMean = foreign.reduce(0, +) / Double(foreign.count)
        // A round trip shorter than a microsecond is a clock artefact, not a 60-million RPM link.
        foreignRPM = 60000 / max(foreignMean, 0.001)
        loadedRPM = 60000 / max(loaded, 0.001)
        rpm = (foreignRPM + loadedRPM) / 2
    }
}

/// The mean of the best `kept` share of `samples` (the lowest, as these are round-trip times):
/// the draft's single-sided trimmed mean. At least one sample is kept; nil for none.
public func trimmedMean(_ samples: [Double], keeping kept: Double) -> Double? {
    guard !samples.isEmpty else { return nil }
    let count = max(1, Int((Double(samples.count) * kept).rounded(.up)))
    let best = samples.sorted().prefix(count)
    return best.reduce(0, +) / Double(best.count)
}

/// True when the population standard deviation of `values` is within `tolerance` of `current`.
func isStable(_ values: some Collection<Double>, current: Double, tolerance: Double) -> Bool {
    guard !values.isEmpty, current > 0 else { return false }
    let mean = values.reduce(0, +) / Double(values.count)
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
    return variance.squareRoot() < tolerance * current
}

/// The draft's working-conditions algorithm for one test (a direction, or both at once), fed one
/// interval at a time: goodput's moving average over the last MAD intervals until it is stable
/// (saturated), adding INC load connections each interval meanwhile, then responsiveness over
/// the last MAD intervals' probes until it is stable too. Pure: the phase measures, this decides.
public struct WorkingConditions: Sendable {
    public let parameters: ResponsivenessParameters
    /// The load connections asked for so far.
    public private(set) var connections: Int
    /// Bytes moved in each finished interval, and how long each lasted (about ID: intervals end
    /// at the first sample past it).
    public private(set) var intervalBytes: [Int64] = []
    private var intervalDurations: [Duration] = []
    private var probes: [IntervalProbes] = []
    /// Goodput's moving average (bytes per second) after each interval.
    public private(set) var goodputAverages: [Double] = []
    /// The interval (index) after which goodput was declared saturated.
    public private(set) var saturatedAfter: Int?
    /// Responsiveness after each interval from saturation on.
    public private(set) var scores: [ResponsivenessScore] = []
    public private(set) var isStable = false

    public init(parameters: ResponsivenessParameters = ResponsivenessParameters()) {
        self.parameters = parameters
        connections = min(parameters.initialConnections, parameters.maxConnections)
    }

    private var window: Int { parameters.movingAverageIntervals }

    /// Ends an interval: `bytes` moved in it, over `duration`, and the probes that completed in
    /// it. Answers how many load connections to add (0 once saturated, or at MNP).
    public mutating func endInterval(bytes: Int64, duration: Duration, probes: IntervalProbes) -> Int {
        intervalBytes.append(bytes)
        intervalDurations.append(duration)
        self.probes.append(probes)
        // The draft's bytes of the last MAD intervals over MAD × ID, with each interval's own
        // length; until MAD intervals have run, the missing ones count as ID with no bytes, so an
        // average over a partial window reads low and the first stable ones are full windows.
        let missing = max(0, window - intervalDurations.count)
        let span = intervalDurations.suffix(window).reduce(parameters.interval * missing, +)
        let average = Double(intervalBytes.suffix(window).reduce(0, +)) / max(seconds(span), 1e-6)
        goodputAverages.append(average)
        let last = intervalBytes.count - 1

        if saturatedAfter == nil {
            if goodputAverages.count >= window,
                HermesMeasure.isStable(
                    goodputAverages.suffix(window), current: average, tolerance: parameters.stabilityTolerance)
            {
                saturatedAfter = last
            } else {
                let added = min(parameters.connectionsAdded, max(0, parameters.maxConnections - connections))
                connections += added
                return added
            }
        }
        if let score = current {
            scores.append(score)
            if scores.count >= window,
                HermesMeasure.isStable(
                    scores.suffix(window).map(\.rpm), current: score.rpm, tolerance: parameters.stabilityTolerance)
            {
                isStable = true
            }
        }
        return 0
    }

    /// Responsiveness over the last MAD intervals' probes, whenever asked (the result of a test
    /// cut short is this, with its confidence).
    public var current: ResponsivenessScore? {
        ResponsivenessScore(IntervalProbes.merged(probes.suffix(window)), keeping: parameters.trimmedMeanKept)
    }

    public var confidence: ResponsivenessConfidence {
        if isStable { return .high }
        return intervalBytes.count < window ? .low : .medium
    }

    /// The goodput the load reached: the latest moving average, in bits per second.
    public var goodputBitsPerSecond: Double? { goodputAverages.last.map { $0 * 8 } }
}
