import Foundation
import HermesCore
import HermesHTTP
import HermesTestSupport
import Testing

@testable import HermesExport

@Suite struct TextfileTests {
    func export(
        _ input: String, to path: String, compatibility: Bool = false, now: Timestamp = .now()
    ) throws -> Export.Summary {
        var export = Export(sinks: [TextfileSink(Textfile(path: path))], diagnostics: Diagnostics(tool: "test"))
        export.now = { now }
        export.compatibilityMetrics = compatibility
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data(input.utf8))
        try pipe.fileHandleForWriting.close()
        return export.run(reading: pipe.fileHandleForReading.fileDescriptor)
    }

    @Test func writesAtomicallyAndLeavesNoTemporaryFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.prom")
        let summary = try export(Fixtures.resultLine + "\n", to: path)
        #expect(summary.exitCode == .success)
        #expect(directory.entries == ["hermes.prom"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("hermes_download_bytes_per_second 117062500\n"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
    }

    /// The layout tmpfiles.d sets up: node_exporter's directory holds a link to the file in
    /// /var/lib/hermes. Writing through the link must update the target and keep the link.
    @Test func writingThroughASymbolicLinkReplacesItsTargetAndKeepsTheLink() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("state"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(
            atPath: directory.file("textfiles"), withIntermediateDirectories: false)
        let link = directory.file("textfiles/hermes.prom")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "../state/hermes.prom")
        _ = try export(Fixtures.resultLine + "\n", to: link)
        let summary = try export(Fixtures.failureLine + "\n", to: link)
        #expect(summary.exitCode == .success)
        let destination = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        #expect(destination == "../state/hermes.prom")
        let text = try String(contentsOfFile: directory.file("state/hermes.prom"), encoding: .utf8)
        #expect(text.contains("\nhermes_last_run_success 0\n"))
        #expect(text.contains("\nhermes_download_bytes_per_second 117062500\n"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("textfiles")) == ["hermes.prom"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("state")) == ["hermes.prom"])
    }

    @Test func aFailureInALaterRunKeepsTheLastGoodValuesFromTheFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.prom")
        _ = try export(Fixtures.resultLine + "\n", to: path, compatibility: true)
        let summary = try export(Fixtures.failureLine + "\n", to: path, compatibility: true)
        #expect(summary.exitCode == .success)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\nhermes_last_run_success 0\n"))
        #expect(text.contains("\nhermes_last_run_timestamp_seconds 1777640400\n"))
        #expect(text.contains("\nhermes_last_success_timestamp_seconds 1777636800.123\n"))
        #expect(text.contains("\nhermes_download_bytes_per_second 117062500\n"))
        #expect(text.contains(#"isp="ACME \"Fibre\" C:\\net\nline 2""#))
        #expect(text.contains(#"hermes_download_mbps{server_name="Berlin-1""#))
    }

    /// A probe whose clock once ran years ahead wrote a run dated 2099. Later runs, dated
    /// correctly, must still update the file; within the slack, order is kept as usual.
    @Test func aRunDatedInTheFutureDoesNotFreezeTheMetrics() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.prom")
        let future = Fixtures.resultLine.replacingOccurrences(
            of: "2026-05-01T12:00:00.123Z", with: "2099-01-01T00:00:00Z")
        #expect(future != Fixtures.resultLine)
        let now = try Timestamp(rfc3339: "2026-05-01T14:00:00Z")
        _ = try export(future + "\n", to: path, now: now)
        _ = try export(Fixtures.failureLine + "\n", to: path, now: now)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\nhermes_last_run_timestamp_seconds 1777640400\n"))
        #expect(text.contains("\nhermes_last_run_success 0\n"))
        _ = try export(Fixtures.resultLine + "\n", to: path, now: now)
        text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\nhermes_last_success_timestamp_seconds 1777636800.123\n"))
        #expect(
            text.contains("\nhermes_last_run_timestamp_seconds 1777640400\n"), "an older run never replaces a newer one"
        )
        // Five minutes ahead is within the slack: it still orders what comes after it.
        let soon = Fixtures.failureLine.replacingOccurrences(
            of: "2026-05-01T13:00:00.000Z", with: "2026-05-01T14:05:00.000Z")
        #expect(soon != Fixtures.failureLine)
        _ = try export(soon + "\n" + Fixtures.resultLine + "\n", to: path, now: now)
        text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\nhermes_last_run_timestamp_seconds 1777644300\n"))
    }

    /// An export fed by a long-running producer reads the clock for each record: twelve minutes
    /// in, a record from then is not "from the future", and an older one does not replace it.
    @Test func aLongRunningExportKeepsOrderingByTheCurrentClock() throws {
        let directory = try TemporaryDirectory()
        let start = try Timestamp(rfc3339: "2026-05-01T13:00:00Z")
        final class Clock: @unchecked Sendable { var readings = 0 }
        let clock = Clock()
        var export = Export(
            sinks: [TextfileSink(Textfile(path: directory.file("hermes.prom")))], diagnostics: Diagnostics(tool: "test")
        )
        // The first record is read at the start, the next two twelve minutes later.
        export.now = {
            clock.readings += 1
            return start.adding(milliseconds: clock.readings == 1 ? 0 : 12 * 60_000)
        }
        let late = Fixtures.failureLine.replacingOccurrences(
            of: "2026-05-01T13:00:00.000Z", with: "2026-05-01T13:12:00.000Z")
        let earlier = Fixtures.failureLine.replacingOccurrences(
            of: "2026-05-01T13:00:00.000Z", with: "2026-05-01T13:05:00.000Z")
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data((Fixtures.failureLine + "\n" + late + "\n" + earlier + "\n").utf8))
        try pipe.fileHandleForWriting.close()
        _ = export.run(reading: pipe.fileHandleForReading.fileDescriptor)
        let text = try String(contentsOfFile: directory.file("hermes.prom"), encoding: .utf8)
        #expect(text.contains("\nhermes_last_run_timestamp_seconds 1777641120\n"), "\(text)")
    }

    @Test func badLinesAreReportedAndTheValidRecordsStillExported() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.prom")
        let summary = try export("not json\n" + Fixtures.resultLine + "\n", to: path)
        #expect(summary.exitCode == .dataError)
        #expect(summary.records == 1)
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("hermes_last_run_success 1"))
    }

    @Test func aMissingDirectoryCannotBeCreated() throws {
        let directory = try TemporaryDirectory()
        let summary = try export(Fixtures.resultLine + "\n", to: directory.file("missing/hermes.prom"))
        #expect(summary.exitCode == .cannotCreate)
    }

    @Test func aDirectoryInThePlaceOfTheFileCannotBeCreated() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.prom")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let summary = try export(Fixtures.resultLine + "\n", to: path)
        #expect(summary.exitCode.rawValue == 73 || summary.exitCode.rawValue == 74)
        #expect(directory.entries == ["hermes.prom"])
    }

    @Test func emptyInputLeavesTheFileAlone() throws {
        let directory = try TemporaryDirectory()
        let summary = try export("", to: directory.file("hermes.prom"))
        #expect(summary.exitCode == .success)
        #expect(directory.entries.isEmpty)
    }

    /// The real `promtool check metrics` (Debian package prometheus) accepts every shape we write.
    @Test func promtoolAcceptsTheExposition() throws {
        let promtool = try RealTool.path("promtool", package: "prometheus")
        var states: [MetricState] = []
        for lines in [[Fixtures.resultLine], [Fixtures.resultLine, Fixtures.failureLine], [Fixtures.failureLine]] {
            var state = MetricState()
            for line in lines { state.apply(try Fixtures.record(line)) }
            states.append(state)
        }
        // With a push's spool figures and --label pairs, as a fleet's probe writes them.
        var pushing = states[1]
        pushing.spools["loki"] = MetricState.SpoolGauges(
            entries: 4, oldestSpooled: Timestamp(millisecondsSinceEpoch: 1_777_636_800_000), dropped: 2)
        pushing.spools["remote_write"] = MetricState.SpoolGauges()
        states.append(pushing)
        for (index, state) in states.enumerated() {
            for compatibility in [false, true] {
                let labels = index == states.count - 1 ? [(name: "site", value: "attic")] : []
                let text = Exposition.render(state, compatibility: compatibility, labels: labels)
                let outcome = try RealTool.run(promtool, ["check", "metrics"], input: text)
                let problems = outcome.output.split(separator: "\n").map(String.init)
                if compatibility && !problems.isEmpty {
                    // The Python Hermes names are kept as they were, so promtool's naming lint
                    // (exit 3) flags them, and nothing else may be flagged.
                    #expect(outcome.status == 3)
                    #expect(
                        Set(problems) == [
                            "hermes_jitter_ms metric names should not contain abbreviated units",
                            "hermes_ping_ms metric names should not contain abbreviated units",
                        ], "promtool: \(outcome.output)")
                } else {
                    #expect(outcome.status == 0, "promtool: \(outcome.output)\n\(text)")
                    #expect(problems.isEmpty, "promtool lint: \(outcome.output)")
                }
            }
        }
    }

    /// The real node_exporter (Debian package prometheus-node-exporter) reads the textfile and
    /// serves the same values, escaped labels included, with no scrape error.
    @Test func nodeExporterServesTheTextfile() throws {
        let binary = try RealTool.path("prometheus-node-exporter", package: "prometheus-node-exporter")
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.prom")
        #expect(
            try export(Fixtures.resultLine + "\n" + Fixtures.failureLine + "\n", to: path, compatibility: true)
                .exitCode == .success)

        let port = try closedLoopbackPort()
        let exporter = try BackgroundProcess(
            binary,
            [
                "--collector.disable-defaults", "--collector.textfile",
                "--collector.textfile.directory=\(directory.path)", "--web.listen-address=127.0.0.1:\(port)",
            ])
        defer { exporter.stop() }
        var body: String?
        let deadline = ContinuousClock.now + .seconds(10)
        while body == nil && ContinuousClock.now < deadline {
            let request = HTTPRequest(
                url: "http://127.0.0.1:\(port)/metrics",
                timeouts: HTTPTimeouts(connect: .seconds(1), total: .seconds(5)))
            if let response = try? HTTPClient.perform(request), response.status == 200 {
                body = String(decoding: response.body, as: UTF8.self)
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        let metrics = try #require(body, "node_exporter did not answer on 127.0.0.1:\(port)")
        #expect(metrics.contains("\nnode_textfile_scrape_error 0\n"))
        #expect(metrics.contains("\nhermes_download_bytes_per_second 1.170625e+08\n"))
        #expect(metrics.contains("\nhermes_last_run_success 0\n"))
        #expect(metrics.contains("\nhermes_last_run_timestamp_seconds 1.7776404e+09\n"))
        #expect(metrics.contains("\nhermes_latency_seconds{phase=\"idle\"} 0.0095\n"))
        #expect(metrics.contains(#"isp="ACME \"Fibre\" C:\\net\nline 2""#))
        #expect(metrics.contains("node_textfile_mtime_seconds{file=\"\(path)\"}"))
        #expect(
            metrics.contains(
                #"hermes_download_mbps{isp_name="ACME \"Fibre\" C:\\net\nline 2",server_location="Berlin, Germany",server_name="Berlin-1"} 936.5"#
            ))
    }
}
