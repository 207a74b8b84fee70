import HermesCore
import Testing

@testable import HermesReport

@Suite struct DigestTests {
    static func time(_ clock: String) -> Timestamp {
        (try? Timestamp(rfc3339: "2026-06-01T\(clock):00Z")) ?? Timestamp(millisecondsSinceEpoch: 0)
    }

    static func result(_ clock: String, _ download: Double, _ upload: Double, _ ping: Double, probe: String? = nil)
        -> Record
    {
        var result = SpeedResult(timestamp: time(clock), downloadMbps: download, uploadMbps: upload, pingMs: ping)
        result.extensions.downloadBytes = 1_000_000_000
        result.extensions.uploadBytes = 200_000_000
        result.extensions.probe = probe
        return .result(result)
    }

    static func failure(_ clock: String, _ kind: MeasurementFailure.ErrorKind, probe: String? = nil) -> Record {
        .failure(
            MeasurementFailure(
                timestamp: time(clock), error: "the test \(kind.rawValue) failed", errorKind: kind, probe: probe))
    }

    /// Half-hourly tests with two outages, given out of order as a query may.
    static let records: [Record] = [
        result("03:30", 85, 17, 14), failure("01:30", .timeout), result("00:00", 100, 20, 10),
        result("00:30", 90, 18, 12), result("01:00", 80, 19, 30), failure("02:00", .timeout),
        result("02:30", 95, 21, 11), failure("03:00", .dns),
    ]

    func render(_ records: [Record], since: String? = nil, format: ReportRun.Format = .markdown) -> String {
        var run = ReportRun(format: format, title: "Week", diagnostics: Diagnostics(tool: "test"))
        run.since = since.map(Self.time)
        run.now = Self.time("03:30")
        return run.render(records)
    }

    @Test func theWholeInputAsAMarkdownDigest() {
        #expect(
            render(Self.records) == [
                "**Week** 2026-06-01 00:00 to 2026-06-01 03:30 UTC",
                "Tests: 8, 3 failed (timeout 2, dns 1)",
                "Longest outage: 1 h from 2026-06-01 01:30 UTC, 2 failed test(s)",
                "Download: median 90.0 Mbit/s, worst 80.0 Mbit/s",
                "Upload: median 19.0 Mbit/s, worst 17.0 Mbit/s",
                "Latency: median 12.0 ms, 95th percentile 30.0 ms, worst 30.0 ms",
                "Data used by the tests: 6.0 GB",
            ].joined(separator: "  \n") + "\n")
    }

    /// The latest result's responsiveness, bufferbloat grade and AIM ratings, one line each; an
    /// old result without them gets its grade and ratings from its loaded latency.
    @Test func theLatestResultsQualityIsSaid() {
        guard case .result(var latest) = Self.result("03:30", 93, 19, 12.4) else { return }
        latest.jitterMs = 1.1
        latest.values[.downloadLatencyMs] = .number(141.4)
        latest.values[.responsivenessRPM] = .number(421)
        latest.values[.responsivenessConfidence] = .text("high")
        let text = render([Self.result("03:00", 90, 19, 12), .result(latest)], format: .text)
        #expect(text.contains("\nResponsiveness (latest): 421 RPM (fair, high confidence)\n"), "\(text)")
        #expect(text.contains("\nBufferbloat (latest): C (+129 ms under load)\n"), "\(text)")
        // 12.4 ms: 10; jitter 1.1 ms: 10; loss not measured: 0; 93 Mbit/s: 20; +129 ms: -10.
        #expect(text.contains("\nQuality (latest): streaming average, gaming bad, video calls poor\n"), "\(text)")
        // Without loaded latency or a responsiveness test, nothing is guessed.
        let plain = render([Self.result("03:00", 90, 19, 12)], format: .text)
        #expect(!plain.contains("(latest)"), "\(plain)")
    }

    @Test func aWindowComparedWithTheOneBeforeIt() {
        #expect(
            render(Self.records, since: "02:00", format: .text) == """
                Week 2026-06-01 02:00 to 2026-06-01 03:30 UTC
                Tests: 4, 2 failed (dns 1, timeout 1)
                Longest outage: 30 min from 2026-06-01 02:00 UTC, 1 failed test(s)
                Download: median 90.0 Mbit/s, worst 85.0 Mbit/s; median +5.9 % on the 1 h 30 min before
                Upload: median 19.0 Mbit/s, worst 17.0 Mbit/s; median +2.7 % on the 1 h 30 min before
                Latency: median 12.5 ms, 95th percentile 14.0 ms, worst 14.0 ms; median −40.5 % on the 1 h 30 min before
                Data used by the tests: 2.4 GB

                """)
    }

    @Test func aLatestFailureIsSaidFirstAndAnOngoingOutageSaysSo() {
        let digest = render([
            Self.result("00:00", 100, 20, 10), Self.failure("00:30", .dns), Self.failure("01:00", .dns),
        ])
        let lines = digest.components(separatedBy: "  \n")
        #expect(lines[2] == "**Latest test failed**: dns at 2026-06-01 01:00 UTC: the test dns failed")
        #expect(lines[3] == "Longest outage: ongoing since 2026-06-01 00:30 UTC, at least 30 min, 2 failed test(s)")
    }

    @Test func onlyFailuresStillMakeADigest() {
        #expect(
            render([Self.failure("00:00", .connect)]) == [
                "**Week** 2026-06-01 00:00 to 2026-06-01 00:00 UTC",
                "Tests: 1, 1 failed (connect 1)",
                "**Latest test failed**: connect at 2026-06-01 00:00 UTC: the test connect failed",
                "Longest outage: ongoing since 2026-06-01 00:00 UTC, 1 failed test(s)",
            ].joined(separator: "  \n") + "\n")
    }

    @Test func nothingToReportSaysSo() {
        var run = ReportRun(format: .text, title: "Week", diagnostics: Diagnostics(tool: "test"))
        run.since = Self.time("00:00")
        run.until = Self.time("06:00")
        #expect(run.render([]) == "Week 2026-06-01 00:00 to 2026-06-01 06:00 UTC\nNo tests in this window.\n")
    }

    @Test func markupInARecordIsShownNotFollowed() {
        var failure = MeasurementFailure(
            timestamp: Self.time("00:00"), error: "**bold** [link](http://x) <script>\nnext\u{1B}[31m", errorKind: .http
        )
        failure.probe = nil
        let digest = render([.failure(failure)])
        #expect(digest.contains(#"\*\*bold\*\* \[link\](http://x) \<script\> next"#))
        #expect(!digest.contains("\u{1B}"))
        #expect(render([.failure(failure)], format: .text).contains("**bold** [link](http://x) <script> next"))
    }

    @Test func severalProbesGetASectionEach() {
        let records = [
            Self.result("00:00", 100, 20, 10, probe: "wan2"), Self.result("00:30", 50, 10, 20, probe: "wan1"),
            Self.failure("01:00", .timeout, probe: "wan1"),
        ]
        let lines = render(records).components(separatedBy: "  \n")
        #expect(lines[1] == "**Probe wan1**")
        #expect(lines[2] == "Tests: 2, 1 failed (timeout 1)")
        #expect(lines.contains("**Probe wan2**"))
        #expect(lines.contains("Download: median 100 Mbit/s, worst 100 Mbit/s"))
    }

    /// One probe measuring two links: a section per link (series key), a failure of one link
    /// counted there only; servers are compared within each.
    @Test func severalLinksOfOneProbeGetASectionEach() {
        func on(_ link: String, _ record: Record) -> Record {
            var values = record.values
            values[.link] = .text(link)
            return Record(kind: record.kind, timestamp: record.timestamp, values: values)
        }
        let records = [
            on("fibre", Self.result("00:00", 900, 300, 5, probe: "home")),
            on("lte", Self.result("00:00", 40, 10, 35, probe: "home")),
            on("lte", Self.failure("00:30", .connect, probe: "home")),
            on("fibre", Self.result("00:30", 910, 310, 5, probe: "home")),
        ]
        let lines = render(records).components(separatedBy: "  \n")
        let fibre = try! #require(lines.firstIndex(of: "**Probe home, link fibre**"))
        let lte = try! #require(lines.firstIndex(of: "**Probe home, link lte**"))
        #expect(lines[fibre + 1] == "Tests: 2, none failed")
        #expect(lines[lte + 1] == "Tests: 2, 1 failed (connect 1)")
        let page = ReportRun(format: .html, title: "Week", diagnostics: Diagnostics(tool: "test")).render(records)
        #expect(page.contains("<h2>Paths compared</h2>"))
        #expect(page.contains("<h2>Probe home, link lte</h2>"))
    }

    @Test func aMarkdownDigestFitsAPhoneNotification() {
        let records = (0..<40).flatMap { probe in
            [
                Self.result("00:00", 90, 20, 10, probe: "probe-\(probe)"),
                Self.failure("00:30", .dns, probe: "probe-\(probe)"),
            ]
        }
        let digest = render(records)
        #expect(digest.count <= Digest.maximumMarkdownCharacters)
        #expect(digest.contains("more path(s): use --probe NAME for each"))
        #expect(digest.contains("**Probe probe-0**"))
    }

    @Test func figuresReadAsAPersonWritesThem() {
        #expect(Digest.number(9.46) == "9.5")
        #expect(Digest.number(940.4) == "940")
        #expect(Digest.duration(45 * 60_000) == "45 min")
        #expect(Digest.duration(26 * 3_600_000) == "1 day(s) 2 h")
        #expect(Digest.bytes(812_000_000) == "812 MB")
        #expect(Digest.bytes(41_230_000_000) == "41.2 GB")
        #expect(Digest.bytes(512) == "512 bytes")
    }

    @Test func percentilesAreMeasuredValues() throws {
        let summary = try #require(Summary((1...20).map(Double.init)))
        #expect(summary.median == 10.5)
        #expect(summary.percentile95 == 19)
        #expect(summary.minimum == 1 && summary.maximum == 20)
        #expect(Summary([]) == nil)
    }
}
