import Foundation
import HermesCore
import HermesMeasure
import HermesTarget
import HermesTestSupport
import Testing

/// hermes-measure's responsiveness test through the real binary against hermes-target on
/// loopback: the record's fields, the stderr summary, the settings, and that without it the
/// record is what it was. The latency increase is held to 15 ms, so scripts/test runs the suite
/// in the timing-sensitive group.
@Suite struct ResponsivenessTargetTests {
    static let fields = [
        "responsiveness_rpm", "download_responsiveness_rpm", "upload_responsiveness_rpm",
        "responsiveness_confidence", "responsiveness_self_probe", "responsiveness_interval_ms",
        "latency_increase_ms", "bufferbloat_grade",
    ]

    private func measure(_ arguments: [String], environment: [String: String] = [:]) throws -> (
        outcome: Executable.Outcome, record: [String: Any]
    ) {
        let state = try TemporaryDirectory()
        let outcome = try Executable.named("hermes-measure").run(
            arguments + ["--state-directory", state.path], environment: environment, timeout: 120)
        let line = try #require(outcome.stdout.split(separator: "\n").first, "no record: \(outcome.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return (outcome, record)
    }

    /// A 40 Mbit/s link whose queue holds 120 ms while it is saturated: the throughput test's
    /// loaded round trips are 120 ms over the idle ones (grade C), and each direction has its
    /// responsiveness, confidence and interval.
    @Test func aQueueingLinkGradesCAndEveryDirectionHasItsResponsiveness() throws {
        let target = try TargetServer.startOnLoopback {
            $0.downBytesPerSecond = 5_000_000
            $0.upBytesPerSecond = 5_000_000
            $0.bufferbloat = .milliseconds(120)
        }
        defer { target.stop() }
        let (outcome, record) = try measure([
            "--server", target.baseURL, "--duration", "3s", "--responsiveness", "sequential",
            "--responsiveness-interval", "300ms",
            "--responsiveness-duration", "4s",
        ])
        try #require(outcome.status == 0, "\(outcome.stderr)")
        let increase = try #require(record["latency_increase_ms"] as? Double)
        #expect(abs(increase - 120) <= 15, "latency increase \(increase) ms")
        #expect(record["bufferbloat_grade"] as? String == "C")
        #expect(record["responsiveness_interval_ms"] as? Int == 300)
        #expect(record["responsiveness_self_probe"] as? String == "tcp_info")
        let confidence = try #require(record["responsiveness_confidence"] as? String)
        #expect(["low", "medium", "high"].contains(confidence))
        let download = try #require(record["download_responsiveness_rpm"] as? Double)
        let upload = try #require(record["upload_responsiveness_rpm"] as? Double)
        #expect(download > 0 && upload > 0)
        #expect(record["responsiveness_rpm"] as? Double == min(download, upload))
        // The responsiveness tests' bytes count: more than the 3 s throughput test alone moves.
        let downloadBytes = try #require(record["download_bytes"] as? Int)
        #expect(downloadBytes > 3 * 5_000_000)
        for direction in ["downloading", "uploading"] {
            #expect(
                outcome.stderr.contains("hermes-measure: responsiveness while \(direction): "),
                "\(outcome.stderr)")
        }
        // The summary names the confidence, the probes behind the figure and the connections.
        #expect(outcome.stderr.contains(" confidence (foreign probes "), "\(outcome.stderr)")
        #expect(outcome.stderr.contains(" connections at "), "\(outcome.stderr)")
    }

    /// The draft's parallel test, what a bare --responsiveness means: both directions loaded at
    /// once, one score, no per-direction scores, both directions' bytes counted, and one summary
    /// line naming both loads.
    @Test func theParallelTestLoadsBothDirectionsForOneScore() throws {
        let target = try TargetServer.startOnLoopback {
            $0.downBytesPerSecond = 5_000_000
            $0.upBytesPerSecond = 2_500_000
        }
        defer { target.stop() }
        let (outcome, record) = try measure([
            "--server", target.baseURL, "--duration", "2s", "--responsiveness",
            "--responsiveness-interval", "300ms", "--responsiveness-duration", "4s",
        ])
        try #require(outcome.status == 0, "\(outcome.stderr)")
        let rpm = try #require(record["responsiveness_rpm"] as? Double, "\(record)")
        #expect(rpm > 0)
        #expect(record["download_responsiveness_rpm"] == nil && record["upload_responsiveness_rpm"] == nil)
        #expect(record["responsiveness_interval_ms"] as? Int == 300)
        #expect(record["responsiveness_self_probe"] as? String == "tcp_info")
        #expect(["low", "medium", "high"].contains(record["responsiveness_confidence"] as? String ?? ""))
        // Each direction's bytes count: more than its 2 s throughput test alone can move.
        #expect((record["download_bytes"] as? Int ?? 0) > 2 * 5_000_000, "\(record)")
        #expect((record["upload_bytes"] as? Int ?? 0) > 2 * 2_500_000, "\(record)")
        let summary = try #require(
            outcome.stderrLines.first {
                $0.hasPrefix("hermes-measure: responsiveness while downloading and uploading: ")
            },
            "\(outcome.stderr)")
        // Both loads ran: connections and goodput of each, the upload's near its 20 Mbit/s.
        let goodputs = summary.split(separator: "connections at ").last.map(String.init) ?? ""
        let rates = goodputs.split(separator: "+").compactMap {
            Double($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        #expect(rates.count == 2 && rates.allSatisfy { $0 > 10 }, "\(summary)")
        #expect(!outcome.stderr.contains("while downloading:") && !outcome.stderr.contains("while uploading:"))
    }

    /// On by default: the parallel test runs (with one direction left, that direction's test),
    /// silently, as a run on a timer should be; --no-responsiveness, or the variable set to off,
    /// gives the record as it was before the test existed.
    @Test func onByDefaultQuietlyAndOffGivesTheRecordAsItWas() throws {
        let target = try TargetServer.startOnLoopback {
            $0.downBytesPerSecond = 20_000_000
            $0.upBytesPerSecond = 5_000_000
        }
        defer { target.stop() }
        let short = ["--responsiveness-interval", "200ms", "--responsiveness-duration", "1s"]
        // Long enough for steady windows: a shorter --duration is warned about.
        let byDefault = try measure(["--server", target.baseURL, "--duration", "8s"] + short)
        #expect(byDefault.outcome.status == 0, "\(byDefault.outcome.stderr)")
        #expect(byDefault.record["responsiveness_rpm"] is Double, "\(byDefault.record)")
        #expect(byDefault.record["download_responsiveness_rpm"] == nil, "the parallel test has one score")
        #expect(byDefault.outcome.stderr.isEmpty, "silence on success: \(byDefault.outcome.stderr)")
        let oneWay = try measure(["--server", target.baseURL, "--duration", "1s", "--no-upload"] + short)
        #expect(oneWay.record["download_responsiveness_rpm"] is Double, "\(oneWay.record)")
        #expect(oneWay.record["upload_responsiveness_rpm"] == nil)

        let flag = try measure(
            ["--server", target.baseURL, "--duration", "1s", "--no-upload", "--no-responsiveness"],
            environment: ["HERMES_MEASURE_RESPONSIVENESS": "sequential"])
        let variable = try measure(
            ["--server", target.baseURL, "--duration", "1s", "--no-upload"],
            environment: ["HERMES_MEASURE_RESPONSIVENESS": "off"])
        for run in [flag, variable] {
            #expect(run.outcome.status == 0, "\(run.outcome.stderr)")
            for field in Self.fields { #expect(run.record[field] == nil, "\(field) in \(run.record)") }
            #expect(!run.outcome.stderr.contains("responsiveness"), "\(run.outcome.stderr)")
        }
        #expect(Set(flag.record.keys) == Set(variable.record.keys))
        // Asked for, by the variable alone, it says what it found.
        let asked = try measure(
            ["--server", target.baseURL, "--duration", "1s", "--no-upload"] + short,
            environment: ["HERMES_MEASURE_RESPONSIVENESS": "sequential"])
        #expect(asked.outcome.status == 0, "\(asked.outcome.stderr)")
        #expect(asked.record["download_responsiveness_rpm"] is Double, "\(asked.record)")
        #expect(asked.outcome.stderr.contains("responsiveness while downloading: "), "\(asked.outcome.stderr)")
        // One second is five intervals of 200 ms at most: four or fewer ran, or four and unstable.
        #expect(asked.record["responsiveness_confidence"] is String)
    }

    @Test(arguments: [
        (["--responsiveness", "--engine", "ookla-cli"], [String: String](), "cannot measure responsiveness"),
        (["--responsiveness", "bogus"], [:], "--responsiveness: unknown mode 'bogus'"),
        ([], ["HERMES_MEASURE_RESPONSIVENESS": "always"], "HERMES_MEASURE_RESPONSIVENESS: unknown mode 'always'"),
        (
            ["--responsiveness", "--responsiveness-interval", "5s", "--responsiveness-duration", "2s"], [:],
            "shorter than one interval"
        ),
    ])
    func settingsItCannotHonourAreConfigurationErrors(
        arguments: [String], environment: [String: String], message: String
    ) throws {
        let outcome = try Executable.named("hermes-measure").run(
            arguments + ["--server", "http://127.0.0.1:9"], environment: environment)
        #expect(outcome.status == 78, "\(outcome.stderr)")
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
    }

    @Test(arguments: [
        ["--responsiveness", "--no-responsiveness"], ["--responsiveness-interval", "10ms"],
        ["--responsiveness-duration", "0"],
    ])
    func badResponsivenessFlagsExit64(arguments: [String]) throws {
        let outcome = try Executable.named("hermes-measure").run(arguments)
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderrLines.first?.hasPrefix("hermes-measure: ") == true, "\(outcome.stderr)")
    }

    /// A deadline that leaves less than one interval skips the test, says so, and keeps the
    /// throughput result.
    @Test func aDeadlineTooShortForOneIntervalSkipsItAndKeepsTheResult() throws {
        let target = try TargetServer.startOnLoopback { $0.downBytesPerSecond = 20_000_000 }
        defer { target.stop() }
        let (outcome, record) = try measure([
            "--server", target.baseURL, "--no-upload", "--duration", "1s", "--timeout", "6s", "--responsiveness",
            "--responsiveness-interval", "5s",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(record["download_mbps"] is Double)
        #expect(record["download_responsiveness_rpm"] == nil)
        #expect(outcome.stderr.contains("the responsiveness test while downloading was skipped"), "\(outcome.stderr)")
    }

    /// `--engine nq` reads hermes-target's `/.well-known/nq` (or the configuration's own URL)
    /// and measures the paced link through its large, upload and small URLs.
    @Test func theNQEngineMeasuresAnyServerThatPublishesAConfiguration() throws {
        let target = try TargetServer.startOnLoopback {
            $0.downBytesPerSecond = 5_000_000
            $0.upBytesPerSecond = 2_500_000
        }
        defer { target.stop() }
        for server in [target.baseURL, target.baseURL + "/.well-known/nq"] {
            let (outcome, record) = try measure([
                // Long enough for steady windows: a 1 s upload window after ramp-up reads the
                // server's receive buffers filling (22.3 Mbit/s of 20 in one CI run).
                "--engine", "nq", "--server", server, "--duration", "6s", "--no-responsiveness",
            ])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(record["engine"] as? String == "nq")
            #expect(record["server_url"] as? String == server)
            let download = try #require(record["download_mbps"] as? Double)
            let upload = try #require(record["upload_mbps"] as? Double)
            #expect(abs(download - 40) <= 4, "download \(download) Mbit/s on a 40 Mbit/s link")
            #expect(abs(upload - 20) <= 2, "upload \(upload) Mbit/s on a 20 Mbit/s link")
        }
        let missing = try measure(["--engine", "nq", "--server", target.baseURL + "/nothing"])
        #expect(missing.outcome.status == 1)
        #expect(missing.record["error_kind"] as? String == "http")
    }

    /// An upload stopped at the phase's end leaves nothing behind: its connections are reset, so
    /// the kernel does not go on sending their buffered bytes into the next phase (or the next
    /// server's test, or the next run), and two runs in a row read the same rate.
    @Test func aStoppedUploadLeavesNothingBehind() throws {
        let target = try TargetServer.startOnLoopback { $0.upBytesPerSecond = 2_500_000 }
        defer { target.stop() }
        var rates: [Double] = []
        for _ in 0..<2 {
            let (outcome, record) = try measure([
                "--server", target.baseURL, "--no-download", "--duration", "6s", "--no-responsiveness",
            ])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            rates.append(try #require(record["upload_mbps"] as? Double))
            // Once the run has ended, the server's connections close and no more bytes arrive.
            var waited = 0
            while target.statistics.openConnections > 0 && waited < 100 {
                usleep(10_000)
                waited += 1
            }
            #expect(target.statistics.openConnections == 0, "connections still open a second after the run")
            let received = target.statistics.bodyBytesReceived
            usleep(500_000)
            #expect(target.statistics.bodyBytesReceived == received, "bytes still arriving after the run")
        }
        for rate in rates { #expect(abs(rate - 20) <= 2, "upload \(rate) Mbit/s on a 20 Mbit/s link: \(rates)") }
    }

    /// The Ookla engine, told by a variable shared with other engines, leaves the fields absent.
    @Test func theOoklaEngineIgnoresTheVariable() throws {
        var flags = MeasureSettings.Flags()
        flags.engine = "ookla-cli"
        let settings = try MeasureSettings.resolve(
            flags, environment: Environment(["HOME": "/tmp", "HERMES_MEASURE_RESPONSIVENESS": "sequential"]))
        #expect(settings.responsiveness == .off)
        #expect(settings.timeout == .seconds(120))
        // Its own engines get the responsiveness tests' time on top of the 60 s.
        let native = try MeasureSettings.resolve(
            MeasureSettings.Flags(),
            environment: Environment(["HOME": "/tmp", "HERMES_MEASURE_RESPONSIVENESS": "sequential"]))
        #expect(native.responsiveness == .sequential)
        #expect(native.timeout == .seconds(60) + MeasureSettings.defaultResponsivenessDuration * 2)
    }
}
