import HermesCore
import Testing

@testable import HermesMeasure

/// The draft's aggregation, saturation and stability rules on synthetic series: each interval's
/// bytes and probes are given, with its length, as a fake clock would have measured them.
@Suite struct WorkingConditionsTests {
    static let second = Duration.seconds(1)

    @Test func trimmedMeanDropsTheWorstFivePercentOnly() {
        // 1...20: the worst 5 % is the 20; the mean of 1...19 is 10.
        #expect(trimmedMean((1...20).map(Double.init).shuffled(), keeping: 0.95) == 10)
        // Ten samples: 5 % is half a sample, so none is dropped.
        #expect(trimmedMean((1...10).map(Double.init), keeping: 0.95) == 5.5)
        // Single-sided: a very low sample stays.
        #expect(trimmedMean([0.1] + Array(repeating: 10, count: 19) + [1000], keeping: 0.95) == (0.1 + 190) / 20)
        #expect(trimmedMean([], keeping: 0.95) == nil)
        #expect(trimmedMean([7], keeping: 0.95) == 7)
    }

    @Test func scoreIsTheMeanOfForeignAndLoadedRPM() throws {
        // Foreign: mean(10, 20) ms = 15 ms -> 4000 RPM; loaded 30 ms -> 2000 RPM; (4000 + 2000) / 2.
        let plain = try #require(
            ResponsivenessScore(IntervalProbes(tcp: [10], http: [20], loaded: [30]), keeping: 0.95))
        #expect(plain.foreignRPM == 4000)
        #expect(plain.loadedRPM == 2000)
        #expect(plain.rpm == 3000)
        // With TLS: mean(10, 20, 30) = 20 ms -> 3000 RPM.
        let tls = try #require(
            ResponsivenessScore(IntervalProbes(tcp: [10], tls: [30], http: [20], loaded: [30]), keeping: 0.95))
        #expect(tls.foreignRPM == 3000)
        #expect(tls.rpm == 2500)
        // Either part missing: no score, never a guess.
        #expect(ResponsivenessScore(IntervalProbes(tcp: [10], http: [20]), keeping: 0.95) == nil)
        #expect(ResponsivenessScore(IntervalProbes(loaded: [30]), keeping: 0.95) == nil)
    }

    @Test func stabilityIsTheStandardDeviationWithinToleranceOfTheCurrentValue() {
        #expect(isStable([100, 100, 100, 100], current: 100, tolerance: 0.05))
        // Population standard deviation of 96, 98, 102, 104 is sqrt(10) = 3.16 < 5.
        #expect(isStable([96, 98, 102, 104], current: 100, tolerance: 0.05))
        // 90, 95, 105, 110: 7.9 > 5.
        #expect(!isStable([90, 95, 105, 110], current: 100, tolerance: 0.05))
        #expect(!isStable([0, 0, 0, 0], current: 0, tolerance: 0.05))
    }

    /// A link two connections fill: goodput's moving average climbs while connections are added
    /// (one per interval), is saturated once the last four averages agree within 5 %, and
    /// responsiveness is then stable after four more; the confidence is high.
    @Test func saturatesThenStabilises() {
        var parameters = ResponsivenessParameters()
        parameters.interval = Self.second
        var conditions = WorkingConditions(parameters: parameters)
        #expect(conditions.connections == 1)
        let steady = IntervalProbes(tcp: [20, 21], http: [20, 22], loaded: [40, 41])
        let perInterval: [Int64] = [50, 100, 100, 100, 100, 100, 100, 100]
        var added: [Int] = []
        for bytes in perInterval {
            added.append(conditions.endInterval(bytes: bytes * 1_000_000, duration: Self.second, probes: steady))
        }
        // Averages over four intervals, those before the first counting as empty: 12.5, 37.5,
        // 62.5, 87.5, 100, 100, 100, 100 (MB/s); the four ending at interval 7 (100 each) are the
        // first within 5 %: saturated after it, a connection added after each interval before.
        #expect(added == [1, 1, 1, 1, 1, 1, 1, 0])
        #expect(conditions.saturatedAfter == 7)
        #expect(conditions.connections == 8)
        #expect(conditions.goodputBitsPerSecond == 800_000_000)
        #expect(conditions.confidence == .medium)
        #expect(!conditions.isStable)
        for _ in 0..<3 {
            #expect(conditions.endInterval(bytes: 100_000_000, duration: Self.second, probes: steady) == 0)
        }
        #expect(conditions.scores.count == 4)
        #expect(conditions.isStable)
        #expect(conditions.confidence == .high)
        let score = conditions.current
        // Foreign mean(20.5, 21) ms, loaded 40.5 ms.
        #expect(score.map { Int($0.rpm.rounded()) } == Int((((60000 / 20.75) + (60000 / 40.5)) / 2).rounded()))
    }

    @Test func intervalsOfUnequalLengthWeighTheirBytesByTheirLength() {
        var parameters = ResponsivenessParameters()
        parameters.interval = Self.second
        var conditions = WorkingConditions(parameters: parameters)
        for milliseconds in [1000, 1100, 900, 1000] {
            _ = conditions.endInterval(
                bytes: Int64(milliseconds) * 1000, duration: .milliseconds(milliseconds), probes: IntervalProbes())
        }
        // 4 MB over 4 s: 1 MB/s, whatever each interval's own length.
        #expect(conditions.goodputAverages.last == 1_000_000)
        // Before four intervals have run, the missing ones count as empty intervals of ID.
        var early = WorkingConditions(parameters: parameters)
        _ = early.endInterval(bytes: 1_000_000, duration: Self.second, probes: IntervalProbes())
        #expect(early.goodputAverages == [250_000])
    }

    @Test func confidenceIsLowBeforeFourIntervalsAndMediumWhenNeverStable() {
        var parameters = ResponsivenessParameters()
        parameters.interval = Self.second
        var conditions = WorkingConditions(parameters: parameters)
        let probes = IntervalProbes(tcp: [10], http: [10], loaded: [10])
        // Goodput that never settles: low for three intervals, then medium however long it runs.
        var bytes: Int64 = 1000
        for interval in 0..<20 {
            bytes = bytes * 3 / 2
            _ = conditions.endInterval(bytes: bytes, duration: Self.second, probes: probes)
            if interval == 2 {
                #expect(conditions.confidence == .low)
                #expect(conditions.current != nil)
            }
        }
        #expect(conditions.saturatedAfter == nil)
        #expect(conditions.confidence == .medium)
    }

    @Test func responsivenessThatKeepsMovingIsNotStable() {
        var parameters = ResponsivenessParameters()
        parameters.interval = Self.second
        var conditions = WorkingConditions(parameters: parameters)
        for _ in 0..<7 {
            _ = conditions.endInterval(bytes: 1000, duration: Self.second, probes: IntervalProbes())
        }
        // The first four full windows end at interval 6.
        #expect(conditions.saturatedAfter == 6)
        // The queue grows: every probe takes longer each interval.
        for step in 1...12 {
            let milliseconds = Double(step * 50)
            let probes = IntervalProbes(tcp: [milliseconds], http: [milliseconds], loaded: [milliseconds])
            _ = conditions.endInterval(bytes: 1000, duration: Self.second, probes: probes)
        }
        #expect(!conditions.isStable)
        #expect(conditions.confidence == .medium)
    }

    @Test func connectionsStopAtTheMaximum() {
        var parameters = ResponsivenessParameters()
        parameters.interval = Self.second
        parameters.maxConnections = 3
        var conditions = WorkingConditions(parameters: parameters)
        var added = 0
        var bytes: Int64 = 1000
        for _ in 0..<10 {
            bytes *= 2
            added += conditions.endInterval(bytes: bytes, duration: Self.second, probes: IntervalProbes())
        }
        #expect(added == 2)
        #expect(conditions.connections == 3)
    }

    /// Only the last MAD intervals' probes count: an early queue that drained is forgotten.
    @Test func onlyTheLastFourIntervalsProbesCount() throws {
        var parameters = ResponsivenessParameters()
        parameters.interval = Self.second
        var conditions = WorkingConditions(parameters: parameters)
        for _ in 0..<4 {
            let early = IntervalProbes(tcp: [500], http: [500], loaded: [500])
            _ = conditions.endInterval(bytes: 1000, duration: Self.second, probes: early)
        }
        for _ in 0..<4 {
            let late = IntervalProbes(tcp: [10], http: [10], loaded: [10])
            _ = conditions.endInterval(bytes: 1000, duration: Self.second, probes: late)
        }
        #expect(try #require(conditions.current).rpm == 6000)
    }

    /// The record's confidence is the lower of the directions'.
    @Test func confidencesOrderLowMediumHigh() {
        #expect([ResponsivenessConfidence.high, .low, .medium].min() == .low)
        #expect([ResponsivenessConfidence.high, .medium].min() == .medium)
        #expect(ResponsivenessConfidence.allCases.sorted() == [.low, .medium, .high])
    }

    @Test func theDraftsParametersAreTheDefaults() {
        let parameters = ResponsivenessParameters()
        #expect(parameters.movingAverageIntervals == 4)
        #expect(parameters.interval == .seconds(5))
        #expect(parameters.trimmedMeanKept == 0.95)
        #expect(parameters.stabilityTolerance == 0.05)
        #expect(parameters.initialConnections == 1)
        #expect(parameters.connectionsAdded == 1)
        #expect(parameters.maxConnections == 16)
        #expect(parameters.maxProbesPerSecond == 100)
        #expect(parameters.probeCapacityShare == 0.05)
    }
}

/// The probes' ledger: each probe lands in the interval it completed in, and each self probe asked
/// for is handed out once.
@Suite struct ProbeLedgerTests {
    @Test func probesLandInTheIntervalTheyCompletedIn() {
        let ledger = ProbeLedger()
        let start = ContinuousClock.now
        ledger.record(.tcp, milliseconds: 1)
        ledger.record(.loaded, milliseconds: 2)
        let boundary = ContinuousClock.now
        ledger.record(.http, milliseconds: 3)
        let end = ContinuousClock.now
        #expect(ledger.probes(from: start, to: boundary) == IntervalProbes(tcp: [1], loaded: [2]))
        // A probe at the boundary belongs to the interval that starts there.
        #expect(ledger.probes(from: boundary, to: end + .nanoseconds(1)) == IntervalProbes(http: [3]))
    }

    @Test func eachSelfProbeAskedForIsTakenOnce() async {
        let ledger = ProbeLedger()
        for _ in 0..<100 { ledger.wantSelfProbe() }
        let taken = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask { (0..<100).reduce(0) { count, _ in count + (ledger.takeSelfProbeRequest() ? 1 : 0) } }
            }
            return await group.reduce(0, +)
        }
        #expect(taken == 100)
        #expect(!ledger.takeSelfProbeRequest())
    }
}
