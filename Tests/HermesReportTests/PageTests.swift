import Foundation
import HermesCore
import Testing

@testable import HermesReport

@Suite struct PageTests {
    static let now = DigestTests.time("12:00")

    func page(_ records: [Record], rows: Int = 100) -> String {
        var run = ReportRun(format: .html, title: "Home <link>", diagnostics: Diagnostics(tool: "test"))
        run.now = Self.now
        run.rows = rows
        return run.render(records)
    }

    func count(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    @Test func everyResultIsAPointAndEveryFailureAMark() {
        let html = page(DigestTests.records)
        #expect(html.contains(#"class="series download" data-points="5""#))
        #expect(html.contains(#"class="series upload" data-points="5""#))
        #expect(html.contains(#"class="series idle" data-points="5""#))
        // Three failures, marked in both charts.
        #expect(count(#"<line class="failure""#, in: html) == 6)
        #expect(html.contains("<title>2026-06-01 01:30 UTC: timeout: the test timeout failed</title>"))
    }

    @Test func theLatestFailureIsSaidFirst() {
        let html = page([DigestTests.result("00:00", 90, 20, 10), DigestTests.failure("00:30", .dns)])
        #expect(html.contains(#"<div class="alert" role="alert"><strong>The latest test failed</strong>"#))
        #expect(html.contains("2026-06-01 00:30 UTC (11 h 30 min ago)"))
        #expect(html.contains(#"<dd>90.0 Mbit/s</dd>"#), "the cards show the latest result")
    }

    @Test func hostileTextIsEscapedNeverMarkup() {
        var result = SpeedResult(
            timestamp: DigestTests.time("00:00"), downloadMbps: 50, uploadMbps: 5, pingMs: 9,
            ispName: "<script>alert(1)</script>", serverName: "\"quoted\" & 'single'",
            serverLocation: "القاهرة, مصر")
        result.extensions.probe = "<img src=x onerror=alert(1)>"
        let html = page([.result(result)])
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&quot;quoted&quot; &amp; &#39;single&#39;"))
        #expect(html.contains("القاهرة, مصر"))
        #expect(html.contains("<title>Home &lt;link&gt;</title>"))
    }

    @Test func nothingIsFetchedFromAnywhere() {
        let html = page(DigestTests.records)
        for pattern in ["<script", "<img", "<link", "@import", "url(", "src=", "http://", "https://"] {
            #expect(!html.contains(pattern), "\(pattern)")
        }
        #expect(html.contains(#"href="data:text/csv;charset=utf-8,timestamp%2Cdownload_mbps%2Cupload_mbps"#))
    }

    @Test func daysAndMonthsAreTabulated() {
        let html = page(
            DigestTests.records
                + [DigestTests.result("00:00", 90, 20, 10)].map { record in
                    guard case .result(var result) = record else { return record }
                    result.timestamp = result.timestamp.adding(milliseconds: -86_400_000)
                    return .result(result)
                })
        #expect(html.contains(#"<tr><th scope="row">2026-06-01</th><td>8</td><td>3 (timeout 2, dns 1)</td>"#))
        #expect(html.contains(#"<tr><th scope="row">2026-05-31</th><td>1</td><td>0</td>"#))
        #expect(html.contains(#"<tr><th scope="row">2026-06</th><td>8</td>"#))
        #expect(html.contains(#"<tr><th scope="row">2026-05</th><td>1</td>"#))
    }

    @Test func theResultsTableHoldsTheNewestRows() {
        let html = page(DigestTests.records, rows: 3)
        #expect(html.contains("The newest 3 of 8 test(s)."))
        #expect(count(#"<table class="results">"#, in: html) == 1)
        let table = html.components(separatedBy: #"<table class="results">"#)[1]
        #expect(count("<tr", in: table) == 4)
        #expect(table.contains("2026-06-01 03:30") && !table.contains("2026-06-01 02:00"))
    }

    @Test func anEmptyWindowSaysThereIsNothingYet() {
        let html = page([])
        #expect(html.contains("Nothing to show yet"))
        #expect(html.hasPrefix("<!doctype html>"))
    }

    @Test func severalProbesAreComparedThenShownEach() {
        let html = page([
            DigestTests.result("00:00", 100, 20, 10, probe: "wan1"),
            DigestTests.result("00:30", 50, 10, 20, probe: "wan2"),
        ])
        #expect(html.contains("<h2>Probes compared</h2>"))
        #expect(html.contains("<h2>Probe wan1</h2>") && html.contains("<h2>Probe wan2</h2>"))
    }

    @Test func thousandsOfPointsKeepTheirDips() {
        let points = (0..<17_520).map { index in
            (time: Timestamp(millisecondsSinceEpoch: Int64(index) * 1_800_000), value: index == 9_000 ? 1.0 : 100.0)
        }
        let kept = Chart.decimated(points)
        #expect(kept.count <= Chart.maximumPoints)
        #expect(kept.contains { $0.value == 1.0 }, "the one dip survives")
        #expect(zip(kept, kept.dropFirst()).allSatisfy { $0.time < $1.time })
    }

    @Test func axesHaveRoundTicks() {
        #expect(Chart.valueTicks(117) == (50, 3))
        #expect(Chart.valueTicks(480) == (100, 5))
        #expect(Chart.valueTicks(0.8) == (0.2, 4))
        #expect(Chart.valueTicks(940) == (200, 5))
        #expect(Chart.tickLabel(50) == "50")
        #expect(Chart.tickLabel(0.25) == "0.25")
        #expect(Chart.monthDay(DigestTests.time("00:00")) == "Jun 1")
    }

    @Test func severalServersOfAProbeGetTheirOwnCharts() {
        func result(_ clock: String, _ server: String, _ download: Double) -> Record {
            var result = SpeedResult(
                timestamp: DigestTests.time(clock), downloadMbps: download, uploadMbps: 10, pingMs: 9,
                serverName: server)
            result.extensions.serverURL = "https://\(server.lowercased()).example/"
            return .result(result)
        }
        var failure = MeasurementFailure(
            timestamp: DigestTests.time("01:30"), error: "timed out", errorKind: .timeout)
        failure.serverURL = "https://zurich.example/"
        let html = page([
            result("00:00", "Frankfurt", 100), result("00:30", "Zurich", 80), result("01:00", "Frankfurt", 90),
            .failure(failure),
        ])
        #expect(html.contains("<h3>Per server</h3>"))
        let sections = html.components(separatedBy: "<h4>Server ")
        #expect(sections.count == 3)
        let frankfurt = sections.first { $0.hasPrefix("Frankfurt</h4>") } ?? ""
        let zurich = sections.first { $0.hasPrefix("Zurich</h4>") } ?? ""
        #expect(frankfurt.contains(#"class="series download" data-points="2""#))
        #expect(zurich.contains(#"class="series download" data-points="1""#))
        #expect(!frankfurt.contains(#"<line class="failure""#), "the failure was Zurich's")
        #expect(zurich.contains(#"<line class="failure""#))
        #expect(html.contains(#"<tr><th scope="row">Zurich</th><td>2</td><td>1</td>"#))
    }

    static func at(_ text: String) -> Timestamp {
        (try? Timestamp(rfc3339: text)) ?? Timestamp(millisecondsSinceEpoch: 0)
    }

    @Test func timeTicksFallOnRoundTimesWithDatesWhereTheyChange() {
        let threeDays = Chart.timeTicks(start: Self.at("2026-06-01T00:30:00Z"), end: Self.at("2026-06-04T00:30:00Z"))
        #expect(threeDays.map(\.label) == ["12:00", "Jun 2", "12:00", "Jun 3", "12:00", "Jun 4"])
        let minutes = Chart.timeTicks(start: Self.at("2026-06-01T00:05:00Z"), end: Self.at("2026-06-01T00:45:00Z"))
        #expect(minutes.map(\.label) == ["00:10", "00:20", "00:30", "00:40"])
        let weeks = Chart.timeTicks(start: Self.at("2026-06-01T00:00:00Z"), end: Self.at("2026-07-01T00:00:00Z"))
        #expect(weeks.map(\.label) == ["Jun 8", "Jun 15", "Jun 22", "Jun 29"], "Mondays")
        let year = Chart.timeTicks(start: Self.at("2026-01-15T00:00:00Z"), end: Self.at("2027-01-10T00:00:00Z"))
        #expect(year.map(\.label) == ["Mar", "May", "Jul", "Sep", "Nov", "Jan 2027"])
    }

    @Test func aSinglePointIsDrawnAsADot() {
        let html = page([DigestTests.result("00:00", 90, 20, 10)])
        #expect(html.contains(#"<circle class="series download""#))
        #expect(html.contains(".chart polyline.series{fill:none"), "only lines go unfilled")
    }

    @Test func thePlansShareCountsTheTestsThatReachedIt() {
        var run = ReportRun(format: .html, title: "Plan", diagnostics: Diagnostics(tool: "test"))
        run.now = Self.now
        run.planDownMbps = 90
        let html = run.render(DigestTests.records)
        // Downloads 100, 90, 80, 95, 85: three of five reach 90 Mbit/s.
        #expect(html.contains("<th scope=\"col\">Results reaching the plan</th>"))
        #expect(html.contains("<td>60 %</td>"))
    }
}
