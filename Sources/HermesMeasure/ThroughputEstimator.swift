/// How the estimator ramps streams, skips warm-up and decides to stop (speedtest-protocols.md B2).
public struct EstimatorSettings: Sendable, Equatable {
    /// Hard cap on the phase.
    public var maxDuration: Duration
    /// Hard cap on the bytes of the phase, all streams together.
    public var maxBytes: Int64?
    public var initialStreams: Int
    public var maxStreams: Int
    /// Streams added at once while the aggregate still grows.
    public var streamStep = 2
    /// Growth of the aggregate rate between ramp checks that counts as "still growing".
    public var growthThreshold = 0.10
    /// Time between ramp checks; a check compares the last `rateSpan` with the previous check's.
    public var rampInterval: Duration = .seconds(1)
    public var rateSpan: Duration = .milliseconds(500)
    /// The window never starts before this, nor before `warmupFraction` of `maxDuration`.
    public var minimumWarmup: Duration
    public var warmupFraction = 0.2
    /// A stable early stop needs at least this much steady window.
    public var minimumSteady: Duration = .seconds(3)
    /// Stability is judged on the sample rates of this last stretch.
    public var stabilityWindow: Duration = .seconds(2)
    /// Stable when the coefficient of variation of those rates is below this.
    public var stableVariation = 0.05
    /// No byte for this long is a stalled phase.
    public var stallTimeout: Duration = .seconds(5)

    public init(
        maxDuration: Duration, maxBytes: Int64? = nil, initialStreams: Int = 4, maxStreams: Int = 16,
        minimumWarmup: Duration
    ) {
        self.maxDuration = maxDuration
        self.maxBytes = maxBytes
        self.maxStreams = max(1, maxStreams)
        self.initialStreams = min(max(1, initialStreams), self.maxStreams)
        self.minimumWarmup = minimumWarmup
    }

    /// Download: slow start is over after about a second.
    public static func download(maxDuration: Duration, maxBytes: Int64?, maxStreams: Int) -> EstimatorSettings {
        EstimatorSettings(
            maxDuration: maxDuration, maxBytes: maxBytes, maxStreams: maxStreams, minimumWarmup: .seconds(1))
    }

    /// Upload: the sender's counters run ahead while socket buffers fill, so skip two seconds.
    public static func upload(maxDuration: Duration, maxBytes: Int64?, maxStreams: Int) -> EstimatorSettings {
        EstimatorSettings(
            maxDuration: maxDuration, maxBytes: maxBytes, maxStreams: maxStreams, minimumWarmup: .seconds(2))
    }
}

/// What the phase should do after a sample.
public enum EstimatorDecision: Sendable, Equatable {
    case proceed
    case addStreams(Int)
    case stop(StopReason)
}

public enum StopReason: String, Sendable, Equatable {
    /// The steady window's rate stopped varying.
    case stable
    /// `maxDuration` was reached.
    case duration
    /// `maxBytes` was reached.
    case byteLimit
    /// No data arrived for `stallTimeout`.
    case stalled
}

/// The throughput of a phase, over its steady window only.
public struct ThroughputEstimate: Sendable, Equatable {
    public var bitsPerSecond: Double
    /// The window, as time since the phase started.
    public var windowStart: Duration
    public var windowEnd: Duration
    public var windowBytes: Int64
    /// Everything moved in the phase, warm-up included (what the user's data plan pays for).
    public var totalBytes: Int64
    /// False when the phase ended before a steady window of `minimumSteady` was seen and a
    /// shorter one had to do.
    public var isSteady: Bool

    public var megabitsPerSecond: Double { bitsPerSecond / 1e6 }
}

/// Turns a series of aggregate byte counts, sampled about every 100 ms on a monotonic clock, into
/// stream-ramp and stop decisions and a throughput. It never averages over slow start: the rate
/// is (bytes at the end − bytes at the window start) / (time between them), where the window
/// starts once the stream count has stopped growing and the warm-up time has passed. Pure: time
/// comes in with the samples, so tests drive it with synthetic series.
public struct ThroughputEstimator: Sendable {
    public let settings: EstimatorSettings
    public private(set) var streams: Int
    private var samples: [(time: Duration, bytes: Int64)] = [(.zero, 0)]
    private var lastRampCheck: Duration = .zero
    private var rateAtLastCheck: Double?
    /// When the stream count stopped growing; nil while it may still grow.
    private var rampEnd: Duration?
    private var lastProgress: Duration = .zero
    private var windowStartIndex: Int?

    public init(settings: EstimatorSettings) {
        self.settings = settings
        streams = settings.initialStreams
    }

    /// A short phase must not mistake a stall for its end: at most a third of it, at least 1 s.
    private var stallTimeout: Duration {
        min(settings.stallTimeout, max(.seconds(1), settings.maxDuration / 3))
    }

    /// The earliest time the steady window may start, once known.
    public var warmupEnd: Duration? {
        guard let rampEnd else { return nil }
        let fraction = settings.maxDuration * settings.warmupFraction
        return max(rampEnd, settings.minimumWarmup, fraction)
    }

    /// Adds a sample: the total bytes of all streams at `time` since the phase started.
    public mutating func record(time: Duration, bytes: Int64) -> EstimatorDecision {
        guard let last = samples.last, time > last.time else { return .proceed }
        let bytes = max(bytes, last.bytes)
        if bytes > last.bytes { lastProgress = time }
        samples.append((time, bytes))

        if time - lastProgress >= stallTimeout { return .stop(.stalled) }
        if let maxBytes = settings.maxBytes, bytes >= maxBytes { return .stop(.byteLimit) }
        if time >= settings.maxDuration { return .stop(.duration) }

        if rampEnd == nil, let added = rampDecision(at: time) { return .addStreams(added) }
        if windowStartIndex == nil, let warmupEnd, time >= warmupEnd {
            windowStartIndex = samples.count - 1
        }
        if isStable(at: time) { return .stop(.stable) }
        return .proceed
    }

    /// Once per `rampInterval`: the first check adds streams; each later one adds more only if
    /// the last addition made the aggregate grow, and otherwise closes the ramp. A link that
    /// four streams already fill costs two extra streams; one that each stream can only fill in
    /// part (a distant server, per-flow limits) gets as many as it takes, up to the cap.
    private mutating func rampDecision(at time: Duration) -> Int? {
        guard time - lastRampCheck >= settings.rampInterval else { return nil }
        lastRampCheck = time
        let rate = self.rate(over: settings.rateSpan, endingAt: samples.count - 1)
        defer { rateAtLastCheck = rate }
        let stillGrowing = rateAtLastCheck.map { rate > $0 * (1 + settings.growthThreshold) } ?? true
        guard stillGrowing && streams < settings.maxStreams else {
            // Streams added at the last check have had a whole interval to settle.
            rampEnd = time
            return nil
        }
        let added = min(settings.streamStep, settings.maxStreams - streams)
        streams += added
        return added
    }

    private func isStable(at time: Duration) -> Bool {
        guard let start = windowStartIndex, time - samples[start].time >= settings.minimumSteady else { return false }
        let from = time - settings.stabilityWindow
        var rates: [Double] = []
        var index = samples.count - 1
        while index > start && samples[index - 1].time >= from {
            let elapsed = seconds(samples[index].time - samples[index - 1].time)
            rates.append(Double(samples[index].bytes - samples[index - 1].bytes) / elapsed)
            index -= 1
        }
        guard rates.count >= 5 else { return false }
        let mean = rates.reduce(0, +) / Double(rates.count)
        guard mean > 0 else { return false }
        let variance = rates.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rates.count)
        return variance.squareRoot() / mean < settings.stableVariation
    }

    /// Bytes per second over the last `span` before the sample at `end`.
    private func rate(over span: Duration, endingAt end: Int) -> Double {
        var start = end
        while start > 0 && samples[end].time - samples[start].time < span { start -= 1 }
        let elapsed = samples[end].time - samples[start].time
        guard elapsed > .zero else { return 0 }
        return Double(samples[end].bytes - samples[start].bytes) / seconds(elapsed)
    }

    /// The throughput so far: over the steady window when there is one; otherwise (a phase cut
    /// short by its caps) over the second half of the phase, never over its first moments.
    public var estimate: ThroughputEstimate? {
        guard let end = samples.last, samples.count >= 2 else { return nil }
        var startIndex = windowStartIndex ?? samples.count - 1
        var isSteady = windowStartIndex != nil && end.time - samples[startIndex].time >= settings.minimumSteady
        if end.time - samples[startIndex].time < settings.rateSpan {
            startIndex = min(samples.firstIndex { $0.time >= end.time / 2 } ?? 0, samples.count - 2)
            // A phase shorter than the stall timeout whose second half paused (a server's
            // receive buffers full for a sample or two) has not stalled: its whole span counts.
            if samples[startIndex].bytes == end.bytes && end.time - lastProgress < stallTimeout {
                startIndex = 0
            }
            isSteady = false
        }
        let start = samples[startIndex]
        guard end.time > start.time else { return nil }
        let windowBytes = end.bytes - start.bytes
        return ThroughputEstimate(
            bitsPerSecond: Double(windowBytes) * 8 / seconds(end.time - start.time),
            windowStart: start.time, windowEnd: end.time, windowBytes: windowBytes, totalBytes: end.bytes,
            isSteady: isSteady)
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
