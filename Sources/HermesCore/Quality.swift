/// What a result means for the people on the link: the bufferbloat grade of its latency increase
/// under load, and Cloudflare's AIM use-case ratings (docs/ARCHITECTURE.md, "Quality ratings").
/// Pure functions of a record's fields, so every reader derives them the same way, for old
/// records too where their fields allow.

/// DSLReports' bufferbloat grade (https://www.dslreports.com/faq/17930) of a latency increase
/// under load: A+ below 5 ms, A below 30, B below 60, C below 200, D below 400, F otherwise.
/// DSLReports grades the mean of the two directions' increases; Hermes grades the worse one,
/// as its `latency_increase_ms` is.
public enum BufferbloatGrade: String, Sendable, CaseIterable {
    case aPlus = "A+"
    case a = "A"
    case b = "B"
    case c = "C"
    case d = "D"
    case f = "F"

    /// The upper bounds (exclusive, ms) of every grade but F.
    public static let bounds: [(grade: BufferbloatGrade, belowMilliseconds: Double)] = [
        (.aPlus, 5), (.a, 30), (.b, 60), (.c, 200), (.d, 400),
    ]

    public init(increaseMilliseconds: Double) {
        self = Self.bounds.first { increaseMilliseconds < $0.belowMilliseconds }?.grade ?? .f
    }
}

/// The latency a result's load added: the worse direction's loaded latency less the idle
/// latency (never below 0: a loaded median under the idle one is noise, not a negative queue).
/// Its `latency_increase_ms` when the record has one; nil when no direction's loaded latency was
/// measured.
public func latencyIncreaseMilliseconds(of result: SpeedResult) -> Double? {
    if let recorded = result.values[.latencyIncreaseMs].number { return recorded }
    let loaded = [result.values[.downloadLatencyMs].number, result.values[.uploadLatencyMs].number].compactMap { $0 }
    guard let worst = loaded.max() else { return nil }
    return max(0, worst - result.pingMs)
}

/// `low`: fewer than MAD intervals ran; `medium`: they did but stability was not reached in
/// time; `high`: stable (the draft's "Confidence of test results").
public enum ResponsivenessConfidence: String, Sendable, Comparable, CaseIterable {
    case low, medium, high

    private var rank: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// The draft's bands of responsiveness: poor below 300 RPM (more than 200 ms), fair to 1000, good
/// to 6000, excellent from 6000 (10 ms and less).
public enum ResponsivenessBand: String, Sendable, CaseIterable {
    case poor, fair, good, excellent

    public init(rpm: Double) {
        self = rpm < 300 ? .poor : rpm < 1000 ? .fair : rpm < 6000 ? .good : .excellent
    }
}

/// One of Cloudflare's AIM classifications.
public enum QualityLevel: Int, Sendable, CaseIterable, Comparable {
    case bad = 0
    case poor, average, good, great

    public var name: String { "\(self)" }

    public static func < (lhs: QualityLevel, rhs: QualityLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The use cases Cloudflare's AIM rates.
public enum UseCase: String, Sendable, CaseIterable {
    case streaming
    case gaming
    case videoCalls = "video_calls"
}

/// Cloudflare's Aggregated Internet Measurement scores (cloudflare/speedtest,
/// src/config/internalConfig.ts and src/Results/ScoresCalculations.ts): each input earns points
/// by band, a use case sums its inputs' points (floored at 0) and its cut-offs classify the sum.
/// A band holds values below its bound: exactly 10 ms is already in the next band. Packet loss
/// that was not measured earns 0 points, as in Cloudflare's table; any other missing input
/// leaves that use case unrated.
public enum QualityRating {
    public enum Input: String, Sendable, CaseIterable {
        case latency, jitter, packetLoss, download, loadedLatencyIncrease
    }

    /// Bounds and the points below each, then the points at or above the last bound.
    public struct Bands: Sendable {
        public let bounds: [Double]
        public let points: [Int]

        public func points(for value: Double) -> Int {
            var index = 0
            while index < bounds.count && value >= bounds[index] { index += 1 }
            return points[index]
        }
    }

    public static func bands(_ input: Input) -> Bands {
        switch input {
        // Milliseconds.
        case .latency, .loadedLatencyIncrease: Bands(bounds: [10, 20, 50, 100, 500], points: [20, 10, 5, 0, -10, -20])
        case .jitter: Bands(bounds: [10, 20, 100, 500], points: [10, 5, 0, -10, -20])
        // Percent (Cloudflare's ratio × 100).
        case .packetLoss: Bands(bounds: [1, 5, 25, 50], points: [10, 5, 0, -10, -20])
        // Mbit/s (Cloudflare's bit/s ÷ 10^6).
        case .download: Bands(bounds: [1, 10, 50, 100], points: [0, 5, 10, 20, 30])
        }
    }

    public static func inputs(of useCase: UseCase) -> [Input] {
        switch useCase {
        case .streaming: [.latency, .packetLoss, .download, .loadedLatencyIncrease]
        case .gaming: [.latency, .packetLoss, .loadedLatencyIncrease]
        case .videoCalls: [.latency, .jitter, .packetLoss, .loadedLatencyIncrease]
        }
    }

    /// The least points for poor, average, good and great.
    public static func cutOffs(of useCase: UseCase) -> [Int] {
        switch useCase {
        case .streaming: [15, 20, 40, 60]
        case .gaming: [5, 15, 25, 30]
        case .videoCalls: [5, 15, 25, 40]
        }
    }

    /// The rating of `useCase` from `values` (nil for an input not measured).
    public static func rate(_ useCase: UseCase, _ values: [Input: Double]) -> QualityLevel? {
        var total = 0
        for input in inputs(of: useCase) {
            if let value = values[input] {
                total += bands(input).points(for: value)
            } else if input != .packetLoss {
                return nil
            }
        }
        let reached = cutOffs(of: useCase).filter { max(0, total) >= $0 }.count
        return QualityLevel(rawValue: reached)
    }

    /// The inputs a result provides.
    public static func inputs(of result: SpeedResult) -> [Input: Double] {
        var values: [Input: Double] = [.latency: result.pingMs]
        values[.jitter] = result.jitterMs
        values[.packetLoss] = result.values[.packetLossPct].number
        values[.download] = result.downloadMbps
        values[.loadedLatencyIncrease] = latencyIncreaseMilliseconds(of: result)
        return values
    }

    /// Every use case the result has the inputs for.
    public static func ratings(of result: SpeedResult) -> [(useCase: UseCase, level: QualityLevel)] {
        let values = inputs(of: result)
        return UseCase.allCases.compactMap { useCase in rate(useCase, values).map { (useCase, $0) } }
    }
}
