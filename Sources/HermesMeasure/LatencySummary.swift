/// Round-trip samples reduced the way the record defines them (docs/ARCHITECTURE.md, "The record"): the median as the
/// latency, and as jitter the mean absolute difference of consecutive samples (Cloudflare's and
/// RFC 3550's "IPDV" summary), both in milliseconds.
public struct LatencySummary: Sendable, Equatable {
    public let medianMilliseconds: Double
    /// nil with fewer than two samples.
    public let jitterMilliseconds: Double?
    public let count: Int
    /// Where the server time subtracted from the samples came from (`server_timing`).
    public var serverTiming: String?
    /// 4 or 6: the family of the address the probes' connection went to.
    public var ipVersion: Int?

    /// nil without samples.
    public init?(milliseconds samples: [Double]) {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let middle = sorted.count / 2
        medianMilliseconds =
            sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        if samples.count >= 2 {
            let differences = zip(samples, samples.dropFirst()).map { abs($1 - $0) }
            jitterMilliseconds = differences.reduce(0, +) / Double(differences.count)
        } else {
            jitterMilliseconds = nil
        }
        count = samples.count
    }
}
