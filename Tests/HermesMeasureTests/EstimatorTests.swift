import Testing

@testable import HermesMeasure

/// Drives the estimator with synthetic byte series on a fake clock: `rate(t)` in bytes per
/// second, integrated over 100 ms samples, until it says stop.
private struct Run {
    var decisions: [(time: Duration, decision: EstimatorDecision)] = []
    var estimator: ThroughputEstimator
    var stop: (time: Duration, reason: StopReason)?

    init(_ settings: EstimatorSettings, rate: (Duration, Int) -> Double) {
        estimator = ThroughputEstimator(settings: settings)
        var bytes = 0.0
        var time = Duration.zero
        while stop == nil && time < .seconds(120) {
            bytes += rate(time, estimator.streams) * 0.1
            time += .milliseconds(100)
            let decision = estimator.record(time: time, bytes: Int64(bytes))
            decisions.append((time, decision))
            if case .stop(let reason) = decision { stop = (time, reason) }
        }
    }

    var added: Int {
        decisions.reduce(0) { total, entry in
            if case .addStreams(let count) = entry.decision { total + count } else { total }
        }
    }
}

private let megabit = 1e6 / 8

@Suite struct EstimatorTests {
    private let settings = EstimatorSettings.download(maxDuration: .seconds(10), maxBytes: nil, maxStreams: 16)

    @Test func aSteadyRateStopsEarlyWithTheExactRate() throws {
        let run = Run(settings) { _, _ in 100 * megabit }
        let stop = try #require(run.stop)
        #expect(stop.reason == .stable)
        // Warm-up (2 s: 20 % of 10 s; the ramp tries 2 more streams at 1 s and closes at 2 s)
        // plus 3 s of window.
        #expect(stop.time >= .seconds(5) && stop.time <= .milliseconds(5200), "stopped at \(stop.time)")
        let estimate = try #require(run.estimator.estimate)
        #expect(abs(estimate.megabitsPerSecond - 100) < 0.01)
        #expect(estimate.windowStart >= .seconds(2))
        #expect(estimate.isSteady)
        #expect(run.added == 2)
        #expect(run.estimator.streams == 6)
    }

    @Test func slowStartIsNeverAveragedIn() throws {
        // Exponential ramp for 3 s (doubling every 300 ms from 1 Mbit/s), then 200 Mbit/s.
        let run = Run(settings) { time, _ in
            let t = seconds(time)
            return t < 3 ? min(200, pow2(t / 0.3)) * megabit : 200 * megabit
        }
        let estimate = try #require(run.estimator.estimate)
        #expect(abs(estimate.megabitsPerSecond - 200) < 0.5, "\(estimate.megabitsPerSecond)")
        #expect(estimate.windowStart >= .seconds(3))
        // A whole-test average would be far lower.
        let naive = Double(estimate.totalBytes) * 8 / seconds(estimate.windowEnd) / 1e6
        #expect(naive < 190)
    }

    @Test func streamsAreAddedWhileTheAggregateGrowsAndNotAfter() throws {
        // Each stream is limited to 25 Mbit/s by a far-away server; the link holds 300 Mbit/s.
        let run = Run(settings) { _, streams in min(300, Double(streams) * 25) * megabit }
        let estimate = try #require(run.estimator.estimate)
        #expect(run.estimator.streams >= 12, "streams: \(run.estimator.streams)")
        #expect(run.estimator.streams <= 16)
        #expect(abs(estimate.megabitsPerSecond - 300) < 1, "\(estimate.megabitsPerSecond)")
    }

    @Test func theStreamCapHolds() throws {
        let capped = EstimatorSettings.download(maxDuration: .seconds(10), maxBytes: nil, maxStreams: 6)
        let run = Run(capped) { _, streams in Double(streams) * 10 * megabit }
        #expect(run.estimator.streams == 6)
        #expect(abs(try #require(run.estimator.estimate).megabitsPerSecond - 60) < 0.5)
    }

    @Test func anOscillatingRateRunsToTheDurationAndReportsTheMean() throws {
        // 100 ms at 50, 100 ms at 150: never stable by the 5 % rule; the mean is 100.
        let run = Run(settings) { time, _ in
            (Int(seconds(time) * 10 + 0.5) % 2 == 0 ? 50 : 150) * megabit
        }
        let stop = try #require(run.stop)
        #expect(stop.reason == .duration)
        #expect(stop.time == .seconds(10))
        #expect(abs(try #require(run.estimator.estimate).megabitsPerSecond - 100) < 3)
    }

    @Test func aStallStopsThePhase() throws {
        let run = Run(settings) { time, _ in time < .seconds(2) ? 80 * megabit : 0 }
        let stop = try #require(run.stop)
        #expect(stop.reason == .stalled)
        // A third of the 10 s phase without a byte.
        #expect(stop.time >= .milliseconds(5300) && stop.time <= .milliseconds(5400), "stopped at \(stop.time)")
    }

    @Test func aShortPhaseCannotMistakeItsEndForAStall() throws {
        let short = EstimatorSettings.download(maxDuration: .seconds(3), maxBytes: nil, maxStreams: 16)
        let run = Run(short) { time, _ in time < .milliseconds(1500) ? 80 * megabit : 0 }
        #expect(run.stop?.reason == .stalled)
    }

    /// A 300 ms phase whose last 100 ms moved nothing (CloudflareShapeTests' uploads, now and
    /// then, against a server whose reading threads paused) is measured over its whole span, not
    /// called stalled: it stopped at its time, long before the stall timeout.
    @Test func aPauseAtTheEndOfAVeryShortPhaseIsNoStall() throws {
        let brief = EstimatorSettings.upload(maxDuration: .milliseconds(300), maxBytes: 2_000_000, maxStreams: 16)
        let run = Run(brief) { time, _ in time < .milliseconds(100) ? 5_457_920 : 0 }
        #expect(run.stop?.reason == .duration)
        let estimate = try #require(run.estimator.estimate)
        #expect(estimate.windowBytes == 545_792 && estimate.windowStart == .zero, "\(estimate)")
        #expect(!estimate.isSteady)
    }

    @Test func theByteCapStopsThePhase() throws {
        let capped = EstimatorSettings.download(maxDuration: .seconds(10), maxBytes: 25_000_000, maxStreams: 16)
        let run = Run(capped) { _, _ in 100 * megabit }
        let stop = try #require(run.stop)
        #expect(stop.reason == .byteLimit)
        #expect(stop.time == .seconds(2))
        // Cut short before any steady window: the second half of the phase, flagged.
        let estimate = try #require(run.estimator.estimate)
        #expect(!estimate.isSteady)
        #expect(abs(estimate.megabitsPerSecond - 100) < 0.5)
    }

    @Test func lateJoiningStreamsDelayTheWindow() throws {
        // Each stream adds 40 Mbit/s until the link's 400 are reached at 10 streams.
        let run = Run(settings) { _, streams in
            min(400, Double(streams) * 40) * megabit
        }
        let estimate = try #require(run.estimator.estimate)
        #expect(estimate.windowStart > .seconds(2), "window from \(estimate.windowStart)")
        #expect(abs(estimate.megabitsPerSecond - 400) < 1)
    }

    @Test func uploadSkipsTwoSecondsAtLeast() throws {
        let upload = EstimatorSettings.upload(maxDuration: .seconds(4), maxBytes: nil, maxStreams: 16)
        // The first 2 s look fast: socket buffers filling.
        let run = Run(upload) { time, _ in (time < .seconds(2) ? 300 : 100) * megabit }
        let estimate = try #require(run.estimator.estimate)
        #expect(estimate.windowStart >= .seconds(2))
        #expect(abs(estimate.megabitsPerSecond - 100) < 0.5)
    }
}

private func pow2(_ exponent: Double) -> Double {
    var result = 1.0
    var remaining = exponent
    while remaining >= 1 {
        result *= 2
        remaining -= 1
    }
    return result * (1 + remaining * 0.6931)
}
