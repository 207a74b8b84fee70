import Foundation
import HermesTestSupport
import Testing

/// hermes-export's remote write against the real Prometheus (Debian's `prometheus`, with its
/// remote-write receiver on), read back through its query API.
@Suite(.serialized) struct RemoteWriteTests {
    /// A Prometheus on a loopback port with a data directory that outlives a restart.
    final class Prometheus {
        let binary: String
        let root: TemporaryDirectory
        let port: UInt16
        private var process: BackgroundProcess?

        init() throws {
            binary = try ServicePipelineTests.installed("prometheus", package: "prometheus")
            root = try TemporaryDirectory()
            port = try closedLoopbackPort()
            try "global:\n  scrape_interval: 1m\n".write(
                toFile: root.file("prometheus.yml"), atomically: false, encoding: .utf8)
        }

        var url: String { "http://127.0.0.1:\(port)" }
        var writeURL: String { url + "/api/v1/write" }

        func start() throws {
            let process = try BackgroundProcess(
                binary,
                [
                    "--config.file=\(root.file("prometheus.yml"))", "--storage.tsdb.path=\(root.file("tsdb"))",
                    "--web.listen-address=127.0.0.1:\(port)", "--web.enable-remote-write-receiver",
                ])
            self.process = process
            let ready = eventually(within: .seconds(30)) {
                (try? ServicePipelineTests.get(url + "/-/ready")) ?? nil
            }
            try #require(ready != nil, "Prometheus did not start: \(process.outputText.suffix(2000))")
        }

        func stop() { process?.stop() }

        var log: String { process?.outputText ?? "" }

        /// The raw samples of `selector` over the last `range`: each series' labels and
        /// (milliseconds, value) pairs.
        func samples(_ selector: String, range: String = "3h") throws -> [(
            labels: [String: String], values: [(Int64, Double)]
        )] {
            let body = try #require(try ServicePipelineTests.get(url + "/api/v1/query", query: "\(selector)[\(range)]"))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            let data = try #require(object["data"] as? [String: Any], "\(body)")
            let result = try #require(data["result"] as? [[String: Any]], "\(body)")
            return result.map { series in
                let labels = series["metric"] as? [String: String] ?? [:]
                let values = (series["values"] as? [[Any]] ?? []).compactMap { pair -> (Int64, Double)? in
                    guard let time = pair.first as? Double, let text = pair.last as? String, let value = Double(text)
                    else { return nil }
                    return (Int64((time * 1000).rounded()), value)
                }
                return (labels, values)
            }
        }
    }

    /// Records stamped `minutesAgo` before now, for a head block that takes them.
    static func stamp(minutesAgo: Int, base: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: base.addingTimeInterval(TimeInterval(-minutesAgo * 60)))
    }

    static func result(minutesAgo: Int, base: Date, download: Double) -> String {
        #"{"v":1,"type":"result","timestamp":"\#(stamp(minutesAgo: minutesAgo, base: base))","download_mbps":\#(download),"upload_mbps":40.25,"ping_ms":9.5,"jitter_ms":0.5,"isp_name":"ACME Fibre","server_name":"Berlin-1","server_location":"","server_id":"1234","engine":"cloudflare","probe":"attic","download_latency_ms":25.5}"#
    }

    static func failure(minutesAgo: Int, base: Date) -> String {
        #"{"v":1,"type":"failure","timestamp":"\#(stamp(minutesAgo: minutesAgo, base: base))","error":"could not connect","error_kind":"connect","engine":"cloudflare","probe":"attic"}"#
    }

    static func milliseconds(minutesAgo: Int, base: Date) -> Int64 {
        Int64((base.timeIntervalSince1970 * 1000).rounded()) - Int64(minutesAgo) * 60_000
    }

    /// Every record's samples land at the record's own time with the probe, the --label pairs and
    /// the info labels; a failure keeps the older good values and counts by kind.
    @Test func everySampleLandsAtItsRecordsTimeWithItsLabels() throws {
        let prometheus = try Prometheus()
        try prometheus.start()
        defer { prometheus.stop() }
        let now = Date().timeIntervalSince1970.rounded(.down)
        let base = Date(timeIntervalSince1970: now - 60)
        let input =
            [
                Self.result(minutesAgo: 30, base: base, download: 500),
                Self.failure(minutesAgo: 20, base: base),
                Self.result(minutesAgo: 10, base: base, download: 600.5),
            ].joined(separator: "\n") + "\n"
        let directory = try TemporaryDirectory()
        let outcome = try Executable.named("hermes-export").run(
            [
                "--remote-write", prometheus.writeURL, "--label", "site=home", "--spool", directory.file("spool"),
                "--textfile", directory.file("h.prom"),
            ], stdin: input)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.isEmpty)
        let times = [30, 20, 10].map { Self.milliseconds(minutesAgo: $0, base: base) }

        let download = try prometheus.samples("hermes_download_bytes_per_second")
        #expect(download.count == 1)
        let expectedLabels: [String: String] = [
            "__name__": "hermes_download_bytes_per_second", "probe": "attic", "site": "home",
        ]
        #expect(download.first?.labels == expectedLabels)
        #expect(download.first?.values.map(\.0) == times)
        let expectedValues: [Double] = [62_500_000, 62_500_000, 75_062_500]
        #expect(download.first?.values.map(\.1) == expectedValues, "the failure keeps the older good value")

        let success = try prometheus.samples("hermes_last_run_success")
        #expect(success.first?.values.map(\.1) == [1, 0, 1])
        let runs = try prometheus.samples(#"hermes_measurements_total{result="failure"}"#)
        #expect(runs.first?.values.map(\.1) == [0, 1, 1])
        let kinds = try prometheus.samples(#"hermes_measurement_failures_total{error_kind="connect"}"#)
        #expect(kinds.first?.values.map(\.1) == [0, 1, 1])
        #expect(try prometheus.samples("hermes_measurement_failures_total").count == 9, "every documented kind")

        let info = try #require(try prometheus.samples("hermes_result_info").first)
        #expect(info.labels["server_name"] == "Berlin-1" && info.labels["isp"] == "ACME Fibre")
        #expect(info.labels["server_location"] == nil, "empty values are left out")
        #expect(info.labels["probe"] == "attic" && info.labels["site"] == "home")

        let latency = try prometheus.samples("hermes_latency_seconds")
        #expect(Set(latency.map { $0.labels["phase"] ?? "" }) == ["idle", "download"])
        // Nothing per run: the series are the families' labels and nothing else.
        let names = try #require(
            try ServicePipelineTests.get(prometheus.url + "/api/v1/labels"), "the label names")
        for label in ["timestamp", "error", "run", "id"] { #expect(!names.contains("\"\(label)\"")) }
        let spool = try FileManager.default.contentsOfDirectory(atPath: directory.file("spool"))
        let queue = try #require(spool.first { $0.hasPrefix("remote_write-") })
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.file("spool/" + queue)).filter {
                $0.hasSuffix(".spool")
            }.isEmpty, "delivered records leave the spool")
    }

    /// Prometheus down for twenty timer runs, then back: every sample arrives once, at its time,
    /// and the counters count on.
    @Test func anOutageOfTwentyRunsReachesPrometheusWhenItComesBack() throws {
        let prometheus = try Prometheus()
        try prometheus.start()
        prometheus.stop()
        let directory = try TemporaryDirectory()
        let base = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        func run(_ index: Int) throws -> Executable.Outcome {
            let line =
                index % 5 == 4
                ? Self.failure(minutesAgo: 40 - index, base: base)
                : Self.result(minutesAgo: 40 - index, base: base, download: Double(100 + index))
            return try Executable.named("hermes-export").run(
                [
                    "--remote-write", prometheus.writeURL, "--remote-write-retries", "0", "--spool",
                    directory.file("spool"), "--textfile", directory.file("h.prom"),
                ], stdin: line + "\n")
        }
        for index in 0..<20 {
            let outcome = try run(index)
            #expect(outcome.status == 0, "run \(index): \(outcome.stderr)")
            #expect(
                outcome.stderr.contains("\(index + 1) record(s) wait in the spool for remote write"),
                "\(outcome.stderr)")
        }
        let textfile = try String(contentsOfFile: directory.file("h.prom"), encoding: .utf8)
        #expect(textfile.contains("\nhermes_spool_entries{sink=\"remote_write\"} 20\n"))
        try prometheus.start()
        defer { prometheus.stop() }
        let back = try run(20)
        #expect(back.status == 0, "\(back.stderr)")
        #expect(!back.stderr.contains("wait in the spool"))

        let expected = (0...20).map { Self.milliseconds(minutesAgo: 40 - $0, base: base) }
        let lastRun = try #require(try prometheus.samples("hermes_last_run_timestamp_seconds").first)
        #expect(lastRun.values.map(\.0) == expected, "every record once, at its own time")
        let successes = try #require(try prometheus.samples(#"hermes_measurements_total{result="success"}"#).first)
        #expect(successes.values.last?.1 == 17)
        let failures = try #require(try prometheus.samples(#"hermes_measurements_total{result="failure"}"#).first)
        let failureCounts: [Double] = (0...20).map { Double(($0 + 1) / 5) }
        #expect(failures.values.map(\.1) == failureCounts)
        let after = try String(contentsOfFile: directory.file("h.prom"), encoding: .utf8)
        #expect(after.contains("\nhermes_spool_entries{sink=\"remote_write\"} 0\n"))
        #expect(!after.contains("hermes_spool_oldest_timestamp_seconds{"))
    }

    /// Samples older than the head block takes are refused for good: the request is set aside
    /// with Prometheus's words and the advice, not retried forever.
    @Test func samplesTooOldForPrometheusAreSetAsideWithTheReason() throws {
        let prometheus = try Prometheus()
        try prometheus.start()
        defer { prometheus.stop() }
        let directory = try TemporaryDirectory()
        let base = Date()
        let spool = ["--remote-write", prometheus.writeURL, "--spool", directory.file("spool")]
        let recent = try Executable.named("hermes-export").run(
            spool, stdin: Self.result(minutesAgo: 1, base: base, download: 100) + "\n")
        #expect(recent.status == 0, "\(recent.stderr)")
        let old = try Executable.named("hermes-export").run(
            spool, stdin: Self.result(minutesAgo: 600, base: base, download: 90) + "\n")
        #expect(old.status == 65, "\(old.stderr)")
        #expect(old.stderr.contains("answered HTTP 400"), "\(old.stderr)")
        #expect(old.stderr.contains("out_of_order_time_window"))
        let rejected = try FileManager.default.contentsOfDirectory(atPath: directory.file("spool/rejected"))
        #expect(rejected.count == 1)
        let again = try Executable.named("hermes-export").run(spool, stdin: "")
        #expect(again.status == 0, "not sent again: \(again.stderr)")
    }
}
