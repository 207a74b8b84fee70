import Foundation
import HermesCore
import HermesTarget
import HermesTestSupport
import Testing

/// hermes-measure as a pipeline sees it: exactly one line on stdout, whatever happens, and an
/// exit status that says whether it is a result.
@Suite struct HermesMeasureCommandTests {
    private func target(_ configure: (inout TargetConfiguration) -> Void = { _ in }) throws -> TargetServer {
        try TargetServer.startOnLoopback(configure)
    }

    /// Runs hermes-measure with its own state directory and decodes its one line of output.
    private func measure(_ arguments: [String], environment: [String: String] = [:]) throws -> (
        Executable.Outcome, Record
    ) {
        let state = try TemporaryDirectory()
        let outcome = try Executable.named("hermes-measure").run(
            arguments + ["--state-directory", state.path], environment: environment, timeout: 60)
        let lines = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        try #require(lines.count == 2 && lines[1].isEmpty, "stdout must be one line: \(outcome.stdout)")
        let decoded = try RecordDecoder.decode(JSONParser.parse(String(lines[0])))
        guard case .record(let record) = decoded else {
            Issue.record("not a record: \(lines[0])")
            throw CancellationError()
        }
        return (outcome, record)
    }

    /// SIGTERM (systemd stopping the unit, or its start timeout) ends a run promptly, and the run
    /// still prints its one record: a failure that says it was interrupted, so the stop is in the
    /// history. SIGINT (Ctrl-C) the same.
    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalEndsTheRunWithAFailureRecord(signal: Int32) throws {
        let silent = try TestServer.start { _ in .neverAnswer }
        defer { silent.stop() }
        let state = try TemporaryDirectory()
        let process = Process()
        process.executableURL = try Executable.named("hermes-measure").url
        process.arguments = [
            "--engine", "cloudflare", "--server", silent.baseURL, "--timeout", "60", "--state-directory", state.path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Its signal thread starts before it contacts the server.
        try #require(eventually { silent.requests.isEmpty ? nil : true } == true, "hermes-measure did not start")
        let sent = ContinuousClock.now
        kill(process.processIdentifier, signal)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let took = ContinuousClock.now - sent
        #expect(took < .seconds(2), "ended \(took) after the signal")
        #expect(process.terminationStatus == 1)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        try #require(lines.count == 1, "one record: \(lines)")
        let decoded = try RecordDecoder.decode(JSONParser.parse(String(lines[0])))
        guard case .record(.failure(let failure)) = decoded else {
            Issue.record("expected a failure record: \(lines[0])")
            return
        }
        #expect(failure.errorKind == .internal)
        #expect(failure.error.contains("interrupted by \(signal == SIGTERM ? "SIGTERM" : "SIGINT")"))
        #expect(failure.serverURL == silent.baseURL)
    }

    /// A damaged back-off file is said and removed, and the run measures; one from a newer
    /// hermes-measure is left as it is and the run stops with 78, as the alert state does.
    @Test func theBackOffFileIsJudgedAsEveryStateFileIs() throws {
        let server = try target { $0.downBytesPerSecond = 5_000_000 }
        defer { server.stop() }
        let state = try TemporaryDirectory()
        let file = state.file("measure-backoff.json")
        let arguments = ["--server", "http://\(server.address)", "--duration", "1", "--state-directory", state.path]
        try "{not json".write(toFile: file, atomically: false, encoding: .utf8)
        let damaged = try Executable.named("hermes-measure").run(arguments)
        #expect(damaged.status == 0, "\(damaged.stderr)")
        #expect(damaged.stderr.contains("hermes-measure: state file \(file) is damaged (invalid JSON"))
        #expect(!FileManager.default.fileExists(atPath: file))
        let newer = #"{"v":7,"not_before":"2030-01-01T00:00:00Z","engine":"cloudflare"}"#
        try newer.write(toFile: file, atomically: false, encoding: .utf8)
        let refused = try Executable.named("hermes-measure").run(arguments)
        #expect(refused.status == 78)
        #expect(refused.stdout.isEmpty)
        #expect(refused.stderr.contains("format version 7") && refused.stderr.contains("upgrade hermes-measure"))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == newer, "left alone")
    }

    @Test func aResultIsOneLineAndExitZero() throws {
        let server = try target {
            $0.downBytesPerSecond = 5_000_000
            $0.upBytesPerSecond = 2_500_000
        }
        defer { server.stop() }
        let (outcome, record) = try measure(
            // Long enough for steady windows (paced, the ramp ends at its second check): a shorter
            // --duration is warned about.
            ["--server", "http://\(server.address)", "--duration", "8", "--probe", "attic"])
        #expect(outcome.status == 0)
        #expect(outcome.stderr.isEmpty, "silence on success: \(outcome.stderr)")
        guard case .result(let result) = record else {
            Issue.record("expected a result: \(record)")
            return
        }
        #expect(result.extensions.probe == "attic")
        #expect(result.extensions.engine == "cloudflare")
        #expect(result.downloadMbps != nil && result.uploadMbps != nil)
    }

    /// What a person at an 80-column terminal sees: each phase and its live rate redrawn on one
    /// line of standard error, both directions of the parallel responsiveness test, its summary,
    /// and the record after the line was erased.
    @Test func aTerminalShowsEachPhaseAndBothDirectionsOfTheParallelTest() throws {
        let server = try target {
            $0.downBytesPerSecond = 5_000_000
            $0.upBytesPerSecond = 5_000_000
        }
        defer { server.stop() }
        let state = try TemporaryDirectory()
        let shown = try runOnTerminal(
            Executable.named("hermes-measure").url.path,
            [
                "--server", "http://\(server.address)", "--duration", "2s", "--responsiveness-duration", "3s",
                "--responsiveness-interval", "300ms", "--state-directory", state.path,
            ], columns: 80, timeout: .seconds(120))
        #expect(shown.status == 0, "\(shown.stdout)")
        // Each redraw returns to the line's start and erases it; a diagnostic (a line end
        // follows) is no redraw.
        let draws = shown.stdout.components(separatedBy: "\r\u{1B}[K").filter { !$0.contains("\r\n") }
        #expect(draws.contains { $0.hasPrefix("hermes-measure: latency to http://") })
        for direction in ["download", "upload"] {
            #expect(
                draws.contains {
                    $0.hasPrefix("hermes-measure: \(direction): ") && $0.hasSuffix(" streams")
                        && $0.contains(" Mbit/s, ")
                }, "\(draws)")
        }
        let both =
            /hermes-measure: download [0-9]+\.[0-9] \+ upload [0-9]+\.[0-9] Mbit\/s, [0-9]+ \+ [0-9]+ connections/
        #expect(draws.contains { $0.wholeMatch(of: both) != nil }, "\(draws)")
        #expect(draws.allSatisfy { $0.count <= 80 }, "\(draws)")
        #expect(shown.stdout.contains("\r\u{1B}[Khermes-measure: responsiveness while downloading and uploading: "))
        // The record is the last line, with no progress left on it.
        let last = shown.stdout.components(separatedBy: "\r\n").last { !$0.isEmpty } ?? ""
        #expect(last.replacingOccurrences(of: "\r\u{1B}[K", with: "").hasPrefix(#"{"v":1,"type":"result""#), "\(last)")
        #expect(!last.contains("Mbit/s, "), "\(last)")
    }

    /// The warning that a test had too little time for a steady window is for a test the
    /// deadline or a short `--duration` cut short, not for one `--max-bytes` ended before the
    /// time it was given.
    @Test func aTestTimeCutShortOfASteadyWindowIsWarnedAbout() throws {
        let server = try target { $0.downBytesPerSecond = 5_000_000 }
        defer { server.stop() }
        let url = "http://\(server.address)"
        let capped = try measure(["--server", url, "--no-upload", "--duration", "60", "--max-bytes", "2000000"])
        #expect(capped.0.status == 0)
        #expect(capped.0.stderr.isEmpty, "a byte cap is no warning: \(capped.0.stderr)")

        let cut = try measure(["--server", url, "--no-upload", "--duration", "10", "--timeout", "3"])
        #expect(cut.0.status == 0)
        #expect(
            cut.0.stderrLines.contains { $0.hasPrefix("hermes-measure: --timeout left the download") },
            "\(cut.0.stderr)")

        // Ramp-up ends after 2 s at the earliest (a check a second), so 3 s leave a 1 s window.
        let short = try measure(["--server", url, "--no-upload", "--duration", "3s", "--no-responsiveness"])
        #expect(short.0.status == 0)
        #expect(
            short.0.stderrLines.contains {
                $0.hasPrefix("hermes-measure: --duration 3.0 s left the download ")
                    && $0.hasSuffix(" s ramp-up, short of a steady window of 3 s; its rate may be off")
            }, "\(short.0.stderr)")
    }

    @Test(arguments: [
        ("refused", "connect"), ("rate-limit", "rate_limited"), ("fail-503", "http"), ("stall", "timeout"),
        ("close", "protocol"), ("tls", "tls"), ("deadline", "timeout"),
    ])
    func everyFaultIsOneFailureLineAndExitOne(fault: String, kind: String) throws {
        let server = try target {
            switch fault {
            case "rate-limit": $0.rateLimitRetryAfter = 30
            case "fail-503": $0.failStatus = 503
            case "stall": $0.stallAfter = 100_000
            case "close": $0.closeAfter = 100_000
            case "deadline": $0.responseDelay = .seconds(5)
            default: break
            }
        }
        defer { server.stop() }
        let url =
            switch fault {
            case "refused": "http://127.0.0.1:9"
            case "tls": "https://\(server.address)"
            default: "http://\(server.address)"
            }
        let timeout = fault == "deadline" ? "4" : "20"
        let (outcome, record) = try measure(["--server", url, "--duration", "3", "--timeout", timeout])
        #expect(outcome.status == 1)
        guard case .failure(let failure) = record else {
            Issue.record("expected a failure: \(record)")
            return
        }
        #expect(failure.errorKind.rawValue == kind, "\(failure.error)")
        #expect(failure.serverURL == url)
        #expect(outcome.stderrLines.last == "hermes-measure: \(failure.error)")
    }

    @Test func aMissingOoklaCLIIsAFailureRecord() throws {
        let (outcome, record) = try measure(["--engine", "ookla-cli", "--speedtest", "/nonexistent/speedtest"])
        #expect(outcome.status == 1)
        guard case .failure(let failure) = record else {
            Issue.record("expected a failure: \(record)")
            return
        }
        #expect(failure.engine == "ookla-cli")
        #expect(failure.serverURL == nil)
    }

    @Test func twoRunsNeverOverlap() throws {
        let server = try target { $0.downBytesPerSecond = 2_000_000 }
        defer { server.stop() }
        let state = try TemporaryDirectory()
        let arguments = ["--server", "http://\(server.address)", "--no-upload", "--duration", "3"]
        let measure = try Executable.named("hermes-measure")
        let path = state.path
        let first = Thread { _ = try? measure.run(arguments + ["--state-directory", path]) }
        first.start()
        // The run lock is taken before the server is contacted.
        try #require(eventually { server.statistics.requests > 0 ? true : nil } == true, "the first run did not start")
        let second = try measure.run(arguments + ["--state-directory", state.path, "--lock-wait", "0.5"])
        #expect(second.status == 1)
        #expect(second.stdout.contains("another speed test is in progress"))
        #expect(second.stdout.split(separator: "\n").count == 1)
    }

    @Test(arguments: [
        ["--duration", "0"], ["--streams", "0"], ["--max-bytes", "0"], ["--no-download", "--no-upload"],
        ["--timeout", "-1"], ["--server", "http://a", "--server-list", "b"], ["--bogus"],
    ])
    func badFlagsExit64WithNothingOnStdout(arguments: [String]) throws {
        let outcome = try Executable.named("hermes-measure").run(arguments)
        #expect(outcome.status == 64)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderrLines.first?.hasPrefix("hermes-measure: ") == true, "\(outcome.stderr)")
    }

    @Test(arguments: [
        ["HERMES_MEASURE_ENGINE": "speedof.me"], ["HERMES_MEASURE_SERVER": "ftp://x"],
        ["HERMES_MEASURE_ENGINE": "librespeed"],
    ])
    func aBadEnvironmentExits78(environment: [String: String]) throws {
        let outcome = try Executable.named("hermes-measure").run([], environment: environment)
        #expect(outcome.status == 78)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderrLines.first?.hasPrefix("hermes-measure: ") == true, "\(outcome.stderr)")
    }

    @Test func helpAndVersionGoToStandardOutput() throws {
        let measure = try Executable.named("hermes-measure")
        let help = try measure.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--server-list"))
        let version = try measure.run(["--version"])
        #expect(version.status == 0)
        #expect(!version.stdout.isEmpty)
    }
}
