import HermesCore

/// The records of one stretch of time, and what a person wants to know about them.
public struct Window: Sendable {
    public let start: Timestamp
    public let end: Timestamp
    /// In time order.
    public let records: [Record]

    public init(start: Timestamp, end: Timestamp, records: [Record]) {
        self.start = start
        self.end = end
        self.records = records.filter { $0.timestamp >= start && $0.timestamp <= end }.sorted {
            $0.timestamp < $1.timestamp
        }
    }

    public var results: [SpeedResult] {
        records.compactMap { if case .result(let result) = $0 { result } else { nil } }
    }

    public var failures: [MeasurementFailure] {
        records.compactMap { if case .failure(let failure) = $0 { failure } else { nil } }
    }

    /// Failures per kind, most frequent first (then by name, so the order is stable).
    public var failuresByKind: [(kind: MeasurementFailure.ErrorKind, count: Int)] {
        var counts: [MeasurementFailure.ErrorKind: Int] = [:]
        for failure in failures { counts[failure.errorKind, default: 0] += 1 }
        return counts.map { ($0.key, $0.value) }.sorted {
            $0.count != $1.count ? $0.count > $1.count : $0.kind.rawValue < $1.kind.rawValue
        }
    }

    /// The longest run of failed tests: from the first failure to the result that ended it (or
    /// to the last failure, when none did yet), and how many tests failed in it.
    public var longestOutage: Outage? {
        var longest: Outage?
        var current: (start: Timestamp, last: Timestamp, count: Int)?
        func close(at end: Timestamp, ongoing: Bool) {
            guard let run = current else { return }
            let outage = Outage(start: run.start, end: end, failedTests: run.count, isOngoing: ongoing)
            if longest.map({ outage.milliseconds > $0.milliseconds }) ?? true { longest = outage }
            current = nil
        }
        for record in records {
            switch record {
            case .failure(let failure):
                current = (current?.start ?? failure.timestamp, failure.timestamp, (current?.count ?? 0) + 1)
            case .result(let result):
                close(at: result.timestamp, ongoing: false)
            }
        }
        if let run = current { close(at: run.last, ongoing: true) }
        return longest
    }

    /// Bytes the tests moved, from `download_bytes` and `upload_bytes` where engines report them.
    public var bytesUsed: Int64 {
        results.reduce(0) { sum, result in
            sum + (result.extensions.downloadBytes ?? 0) + (result.extensions.uploadBytes ?? 0)
        }
    }

    public var download: Summary? { Summary(results.compactMap(\.downloadMbps)) }
    public var upload: Summary? { Summary(results.compactMap(\.uploadMbps)) }
    public var latency: Summary? { Summary(results.map(\.pingMs)) }
    /// The worst round trip under load, where engines measure it.
    public var loadedLatency: Summary? {
        Summary(
            results.compactMap { result in
                [result.extensions.downloadLatencyMs, result.extensions.uploadLatencyMs].compactMap { $0 }.max()
            })
    }
}

/// A run of failed tests.
public struct Outage: Equatable, Sendable {
    public var start: Timestamp
    public var end: Timestamp
    public var failedTests: Int
    /// No result has ended it within the window.
    public var isOngoing: Bool

    public var milliseconds: Int64 { end.millisecondsSinceEpoch - start.millisecondsSinceEpoch }
}

/// Order statistics of one measure.
public struct Summary: Equatable, Sendable {
    public let count: Int
    public let minimum: Double
    public let median: Double
    public let percentile95: Double
    public let maximum: Double

    /// Nil for no values. The 95th percentile is by nearest rank, a value that was measured; the
    /// median of an even count is the mean of the two in the middle.
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        count = sorted.count
        minimum = sorted[0]
        maximum = sorted[sorted.count - 1]
        median =
            sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        percentile95 = Self.nearestRank(sorted, 0.95)
    }

    static func nearestRank(_ sorted: [Double], _ fraction: Double) -> Double {
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
