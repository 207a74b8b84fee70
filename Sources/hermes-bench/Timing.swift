import Glibc

/// Seconds on the monotonic clock, which wall-clock steps cannot disturb.
func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Times `body` once; returns its result and how long it took in seconds.
func timed<Value, Failure: Error>(_ body: () throws(Failure) -> Value) throws(Failure) -> (Value, seconds: Double) {
    let start = monotonicSeconds()
    let value = try body()
    return (value, monotonicSeconds() - start)
}

/// Durations of repeated runs of one operation.
struct Samples {
    private var sorted: [Double]

    init(_ seconds: [Double]) {
        sorted = seconds.sorted()
    }

    /// Nearest-rank percentile, 0 < `percent` ≤ 100; 0 when there are no samples.
    func percentile(_ percent: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((percent / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    var median: Double { percentile(50) }
    var mean: Double { sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count) }
}

/// Microseconds with one decimal, for `report`.
func microseconds(_ seconds: Double) -> String {
    String(Double((seconds * 10_000_000).rounded()) / 10)
}
