import HermesCore
import Testing

@Suite struct QualityTests {
    @Test(arguments: [
        (0.0, "A+"), (4.99, "A+"), (5.0, "A"), (29.99, "A"), (30.0, "B"), (59.99, "B"), (60.0, "C"),
        (199.99, "C"), (200.0, "D"), (399.99, "D"), (400.0, "F"), (5000.0, "F"),
    ])
    func bufferbloatGradeBandsAreDSLReports(increase: Double, grade: String) {
        #expect(BufferbloatGrade(increaseMilliseconds: increase).rawValue == grade)
    }

    /// Every band edge of every input: just below the bound is the band, the bound itself the next
    /// (Cloudflare's scaleThreshold counts a value equal to a bound as past it).
    static let bandEdges: [(QualityRating.Input, [(Double, Int)])] = [
        (
            .latency,
            [
                (9.99, 20), (10, 10), (19.99, 10), (20, 5), (49.99, 5), (50, 0), (99.99, 0), (100, -10), (499.99, -10),
                (500, -20),
            ]
        ),
        (.loadedLatencyIncrease, [(0, 20), (9.99, 20), (10, 10), (20, 5), (50, 0), (100, -10), (500, -20)]),
        (
            .jitter,
            [(0, 10), (9.99, 10), (10, 5), (19.99, 5), (20, 0), (99.99, 0), (100, -10), (499.99, -10), (500, -20)]
        ),
        (
            .packetLoss,
            [
                (0, 10), (0.99, 10), (1, 5), (4.99, 5), (5, 0), (24.99, 0), (25, -10), (49.99, -10), (50, -20),
                (100, -20),
            ]
        ),
        (
            .download,
            [
                (0, 0), (0.99, 0), (1, 5), (9.99, 5), (10, 10), (49.99, 10), (50, 20), (99.99, 20), (100, 30),
                (10000, 30),
            ]
        ),
    ]

    @Test(arguments: bandEdges)
    func pointsByBand(input: QualityRating.Input, cases: [(Double, Int)]) {
        for (value, points) in cases {
            #expect(QualityRating.bands(input).points(for: value) == points, "\(input) at \(value)")
        }
    }

    /// Each use case's cut-offs: one point below is the lower class, the cut-off itself the higher.
    @Test func classificationCutOffs() {
        // Latency points: 20 (< 10 ms), 10, 5, 0, -10, -20; loss unmeasured is 0 points. Sums are
        // built from inputs whose points are known, so each cut-off can be hit exactly.
        func gaming(latency: Double, increase: Double, loss: Double? = nil) -> QualityLevel? {
            var values: [QualityRating.Input: Double] = [.latency: latency, .loadedLatencyIncrease: increase]
            values[.packetLoss] = loss
            return QualityRating.rate(.gaming, values)
        }
        // Gaming cut-offs 5 / 15 / 25 / 30.
        #expect(gaming(latency: 60, increase: 60) == .bad)  // 0 + 0
        #expect(gaming(latency: 30, increase: 60) == .poor)  // 5
        #expect(gaming(latency: 30, increase: 30, loss: 30) == .bad)  // 5 + 5 - 10 = 0
        #expect(gaming(latency: 15, increase: 30) == .average)  // 15
        #expect(gaming(latency: 15, increase: 15) == .average)  // 20
        #expect(gaming(latency: 15, increase: 15, loss: 0.5) == .great)  // 10 + 10 + 10 = 30
        #expect(gaming(latency: 15, increase: 20, loss: 0.5) == .good)  // 10 + 5 + 10 = 25
        #expect(gaming(latency: 15, increase: 20, loss: 1) == .average)  // 10 + 5 + 5 = 20
        #expect(gaming(latency: 5, increase: 30) == .good)  // 25
        #expect(gaming(latency: 5, increase: 15) == .great)  // 30
        #expect(gaming(latency: 5, increase: 5, loss: 0) == .great)  // 50
        // A sum below zero is floored, not a lower class.
        #expect(gaming(latency: 600, increase: 600, loss: 60) == .bad)

        // Streaming cut-offs 15 / 20 / 40 / 60 (download points 0, 5, 10, 20, 30).
        func streaming(_ latency: Double, _ download: Double, _ increase: Double) -> QualityLevel? {
            QualityRating.rate(.streaming, [.latency: latency, .download: download, .loadedLatencyIncrease: increase])
        }
        #expect(streaming(60, 5, 30) == .bad)  // 0 + 5 + 5 = 10
        #expect(streaming(60, 20, 30) == .poor)  // 0 + 10 + 5 = 15
        #expect(streaming(60, 60, 60) == .average)  // 0 + 20 + 0 = 20
        #expect(streaming(30, 60, 60) == .average)  // 5 + 20 = 25
        #expect(streaming(15, 150, 60) == .good)  // 10 + 30 + 0 = 40
        #expect(streaming(5, 150, 15) == .great)  // 20 + 30 + 10 = 60
        #expect(streaming(5, 150, 30) == .good)  // 55

        // Video-call cut-offs 5 / 15 / 25 / 40 (jitter points 10, 5, 0, -10, -20).
        func calls(_ latency: Double, _ jitter: Double, _ increase: Double) -> QualityLevel? {
            QualityRating.rate(.videoCalls, [.latency: latency, .jitter: jitter, .loadedLatencyIncrease: increase])
        }
        #expect(calls(60, 50, 60) == .bad)  // 0
        #expect(calls(30, 50, 60) == .poor)  // 5
        #expect(calls(15, 15, 60) == .average)  // 10 + 5 = 15
        #expect(calls(15, 5, 30) == .good)  // 10 + 10 + 5 = 25
        #expect(calls(5, 5, 15) == .great)  // 20 + 10 + 10 = 40
        #expect(calls(5, 15, 15) == .good)  // 35
    }

    @Test(arguments: [
        (0.0, ResponsivenessBand.poor), (299.9, .poor), (300, .fair), (999.9, .fair), (1000, .good),
        (5999.9, .good), (6000, .excellent),
    ])
    func responsivenessBandsAreTheDrafts(rpm: Double, band: ResponsivenessBand) {
        #expect(ResponsivenessBand(rpm: rpm) == band)
    }

    @Test func missingInputsLeaveTheRatingAbsentExceptPacketLoss() {
        // No loss measured: rated, with 0 points for loss.
        #expect(QualityRating.rate(.gaming, [.latency: 5, .loadedLatencyIncrease: 5]) == .great)
        // Loss measured and bad: it counts (20 + 20 - 20).
        #expect(QualityRating.rate(.gaming, [.latency: 5, .loadedLatencyIncrease: 5, .packetLoss: 60]) == .average)
        #expect(QualityRating.rate(.gaming, [.latency: 5]) == nil)
        #expect(QualityRating.rate(.streaming, [.latency: 5, .loadedLatencyIncrease: 5]) == nil)
        #expect(QualityRating.rate(.videoCalls, [.latency: 5, .loadedLatencyIncrease: 5]) == nil)
    }

    @Test func ratingsOfAResultUseItsFieldsAndOldRecordsGetThemToo() {
        // A record from before latency_increase_ms: the increase comes from the loaded latencies.
        var result = SpeedResult(
            timestamp: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000), downloadMbps: 250, uploadMbps: 20,
            pingMs: 8,
            jitterMs: 1.5)
        result.values[.downloadLatencyMs] = .number(70)
        result.values[.uploadLatencyMs] = .number(40)
        #expect(latencyIncreaseMilliseconds(of: result) == 62)
        let ratings = Dictionary(uniqueKeysWithValues: QualityRating.ratings(of: result).map { ($0.useCase, $0.level) })
        // Streaming: 20 + 0 + 30 + 0 = 50; gaming: 20 + 0 = 20; calls: 20 + 10 + 0 = 30.
        #expect(ratings == [.streaming: .good, .gaming: .average, .videoCalls: .good])

        // The recorded increase wins over one derived from the loaded latencies.
        result.values[.latencyIncreaseMs] = .number(3)
        #expect(latencyIncreaseMilliseconds(of: result) == 3)

        // An upload-only result has no streaming rating; one without loaded latency none at all.
        var uploadOnly = SpeedResult(
            timestamp: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000), downloadMbps: nil, uploadMbps: 20,
            pingMs: 8)
        uploadOnly.values[.uploadLatencyMs] = .number(9)
        #expect(QualityRating.ratings(of: uploadOnly).map(\.useCase) == [.gaming])
        let idleOnly = SpeedResult(
            timestamp: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000), downloadMbps: 100, uploadMbps: 20,
            pingMs: 8)
        #expect(QualityRating.ratings(of: idleOnly).isEmpty)
        // A loaded median under the idle one is no negative queue.
        var faster = idleOnly
        faster.values[.downloadLatencyMs] = .number(7)
        #expect(latencyIncreaseMilliseconds(of: faster) == 0)
    }
}
