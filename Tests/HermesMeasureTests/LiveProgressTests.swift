import Testing

@testable import HermesMeasure

/// The live line's rate: over the last second of counts, so a count that moves in steps reads as
/// the rate it averages, and a change of rate shows within a second.
@Suite struct LiveProgressTests {
    /// Counts every 100 ms of a load sending 250 000 bytes per 100 ms (20 Mbit/s) in steps of
    /// 100 000 bytes, as an upload's count moves a send buffer at a time.
    static func count(at tenth: Int, bytesPerTenth: Int64 = 250_000, from base: Int64 = 0) -> Int64 {
        base + Int64(tenth) * bytesPerTenth / 100_000 * 100_000
    }

    @Test func aStepwiseCountReadsAsItsRate() {
        var meter = LiveProgress.RateMeter()
        #expect(meter.megabits(bytes: 0, at: .zero) == nil, "one count is no rate")
        #expect(meter.megabits(bytes: 100, at: .zero) == nil, "no time passed")
        var rates: [Double] = []
        for tenth in 1...30 {
            if let rate = meter.megabits(bytes: Self.count(at: tenth), at: .milliseconds(100 * tenth)) {
                rates.append(rate)
            }
        }
        #expect(rates.count == 30)
        // One step in a second is 0.8 Mbit/s; a 100 ms sample alone would read 8, 16 or 24.
        #expect(rates.dropFirst(10).allSatisfy { abs($0 - 20) <= 0.8 }, "\(rates)")
        #expect(meter.last == rates.last)
    }

    @Test func aChangeOfRateShowsWithinASecond() {
        var meter = LiveProgress.RateMeter()
        var bytes: Int64 = 0
        for tenth in 0...20 {
            bytes += 250_000
            _ = meter.megabits(bytes: bytes, at: .milliseconds(100 * tenth))
        }
        var rate: Double?
        for tenth in 21...31 {
            bytes += 500_000
            rate = meter.megabits(bytes: bytes, at: .milliseconds(100 * tenth))
        }
        #expect(rate.map { abs($0 - 40) < 0.01 } == true, "\(String(describing: rate))")
    }
}
