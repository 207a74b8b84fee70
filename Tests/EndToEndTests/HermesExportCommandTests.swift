import Foundation
import HermesExport
import HermesTestSupport
import Testing

@Suite struct HermesExportCommandTests {
    let failure =
        #"{"v":1,"type":"failure","timestamp":"2026-05-01T13:00:00.000Z","error":"could not resolve speed.example","error_kind":"dns"}"#

    @Test func textfileRunsKeepLastGoodValuesAcrossAFailure() throws {
        let export = try Executable.named("hermes-export")
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.prom")
        let first = try export.run(["--textfile", path], stdin: resultLine(1) + "\n")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.isEmpty && first.stderr.isEmpty)
        let second = try export.run(["--textfile", path, "--compat-metrics"], stdin: failure + "\n")
        #expect(second.status == 0, "\(second.stderr)")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\nhermes_last_run_success 0\n"))
        #expect(text.contains("\nhermes_download_bytes_per_second 187500\n"))
        #expect(
            text.contains(
                #"hermes_download_mbps{server_name="Berlin-1",server_location="Berlin, Germany",isp_name="ACME, \"Fibre\""} 1.5"#
            ))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["hermes.prom"])
    }

    @Test func prometheusWritesTheLatestRecordToStandardOutput() throws {
        let outcome = try Executable.named("hermes-export").run(
            ["--prometheus"], stdin: resultLine(1) + "\n" + resultLine(2) + "\n")
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("\nhermes_last_run_timestamp_seconds 1777636920\n"))
        #expect(outcome.stdout.components(separatedBy: "# TYPE hermes_last_run_success gauge").count == 2)
    }

    @Test func teePassesCanonicalRecordsOn() throws {
        let directory = try TemporaryDirectory()
        let outcome = try Executable.named("hermes-export").run(
            ["--textfile", directory.file("h.prom"), "--tee"], stdin: resultLine(1) + "\n" + failure + "\n")
        #expect(outcome.status == 0)
        let lines = outcome.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix(#"{"v":1,"type":"result","timestamp":"2026-05-01T12:01:00.000Z""#) == true)
        #expect(lines.last == Substring(failure))
    }

    @Test(arguments: [
        ["--prometheus", "--tee"], [], ["--textfile", ""], ["--loki", "ftp://x"],
        ["--loki-label", "job=x", "--prometheus"],
        ["--prometheus", "--loki-retries", "-1"], ["--prometheus", "--loki-password-file", "/dev/null"],
    ])
    func usageErrorsExit64(arguments: [String]) throws {
        let outcome = try Executable.named("hermes-export").run(arguments, environment: ["LOKI_URL": ""])
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderr.hasPrefix("hermes-export: "))
    }

    @Test func badLinesExit65AfterExportingTheValidRecords() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.prom")
        let outcome = try Executable.named("hermes-export").run(
            ["--textfile", path], stdin: "{oops\n" + resultLine(3) + "\n")
        #expect(outcome.status == 65)
        #expect(outcome.stderr.contains("hermes-export: line 1: invalid JSON"))
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("hermes_last_run_success 1"))
    }

    @Test func aTextfileInAMissingDirectoryExits73() throws {
        let directory = try TemporaryDirectory()
        let outcome = try Executable.named("hermes-export").run(
            ["--textfile", directory.file("nope/hermes.prom"), "--tee"], stdin: resultLine(1) + "\n")
        #expect(outcome.status == 73)
        #expect(outcome.stdout.split(separator: "\n").count == 1, "--tee still passes the record on")
    }

    /// Without a spool the records of a push that never got through are lost: 75.
    @Test func anUnreachableLokiWithoutASpoolExits75WithoutShowingTheSecret() throws {
        let directory = try TemporaryDirectory()
        let secret = directory.file("password")
        try "hunter2-secret\n".write(toFile: secret, atomically: false, encoding: .utf8)
        let port = try closedLoopbackPort()
        let outcome = try Executable.named("hermes-export").run(
            [
                "--textfile", directory.file("h.prom"), "--loki-retries", "1", "--loki-user", "me",
                "--loki-password-file", secret, "--no-spool",
            ],
            stdin: resultLine(1) + "\n", environment: ["LOKI_URL": "http://127.0.0.1:\(port)"])
        #expect(outcome.status == 75, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("could not connect to http://127.0.0.1:\(port)/loki/api/v1/push"))
        #expect(outcome.stderr.contains("retrying in"))
        #expect(!outcome.stderr.contains("hunter2"))
        #expect(FileManager.default.fileExists(atPath: directory.file("h.prom")), "the textfile does not wait for Loki")
    }
    /// Loki gone (nothing listening) for twenty timer runs, each exporting one record: every run
    /// succeeds and says what waits; when Loki listens again on its port, the next run delivers
    /// all twenty-one, once, oldest first, and the textfile's spool figures go back to 0.
    @Test func aLokiDownForTwentyRunsGetsEveryRecordWhenItIsBack() throws {
        let directory = try TemporaryDirectory()
        let port = try closedLoopbackPort()
        let arguments = [
            "--loki", "http://127.0.0.1:\(port)", "--loki-retries", "0", "--spool", directory.file("spool"),
            "--textfile", directory.file("h.prom"),
        ]
        for index in 0..<20 {
            let outcome = try Executable.named("hermes-export").run(arguments, stdin: resultLine(index) + "\n")
            #expect(outcome.status == 0, "run \(index): \(outcome.stderr)")
            #expect(outcome.stderr.contains("could not connect"))
            #expect(outcome.stderr.contains("\(index + 1) record(s) wait in the spool for Loki"))
        }
        let waiting = try String(contentsOfFile: directory.file("h.prom"), encoding: .utf8)
        #expect(waiting.contains("\nhermes_spool_entries{sink=\"loki\"} 20\n"))
        #expect(waiting.contains("\nhermes_spool_oldest_timestamp_seconds{sink=\"loki\"} "))

        let loki = try TestServer.start(keptBodyBytes: 1 << 20, port: port) { _ in
            .respond(status: 204, reason: "No Content", headers: [], body: [])
        }
        defer { loki.stop() }
        let back = try Executable.named("hermes-export").run(arguments, stdin: resultLine(20) + "\n")
        #expect(back.status == 0, "\(back.stderr)")
        #expect(back.stderr.isEmpty, "\(back.stderr)")
        let stamps = try loki.requests.flatMap { try Self.streams($0).flatMap(\.timestamps) }
        let expected = (0...20).map { "\(Int64(1_777_636_800 + $0 * 60) * 1_000_000_000)" }
        #expect(stamps == expected, "every record once, oldest first")
        let after = try String(contentsOfFile: directory.file("h.prom"), encoding: .utf8)
        #expect(after.contains("\nhermes_spool_entries{sink=\"loki\"} 0\n"))
        #expect(after.contains("\nhermes_measurements_total{result=\"success\"} 21\n"))
        #expect(!after.contains("hermes_spool_oldest_timestamp_seconds{"))
    }

    /// A textfile damaged on disk: the lines that cannot be read are named, the values they held
    /// start again, and the file is rewritten whole and valid.
    @Test func aDamagedTextfileIsReportedAndRewritten() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("h.prom")
        let arguments = ["--textfile", path]
        #expect(try Executable.named("hermes-export").run(arguments, stdin: resultLine(1) + "\n").status == 0)
        #expect(try Executable.named("hermes-export").run(arguments, stdin: resultLine(2) + "\n").status == 0)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "hermes_measurements_total{result=\"success\"} 2",
            with: "hermes_measurements_total{result=\"succ\u{0}ss 2")
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let damagedLine = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex {
            $0.contains("succ\u{0}ss")
        }
        let outcome = try Executable.named("hermes-export").run(arguments, stdin: resultLine(3) + "\n")
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(
            outcome.stderr.contains("\(path): line(s) \((damagedLine ?? -2) + 1) are not samples this tool wrote"),
            "\(outcome.stderr)")
        let after = try String(contentsOfFile: path, encoding: .utf8)
        #expect(after.contains("\nhermes_measurements_total{result=\"success\"} 1\n"), "the count starts again")
        #expect(!after.contains("\u{0}"))
        #expect(after.contains("\nhermes_download_bytes_per_second "), "the rest was read back")
    }

    /// A Loki on loopback answering each push with `status` (and `body`).
    static func loki(status: Int = 204, body: String = "") throws -> TestServer {
        try TestServer.start { _ in
            .respond(
                status: status, reason: status == 204 ? "No Content" : "Bad Request", headers: [],
                body: Array(body.utf8))
        }
    }

    /// The streams of a recorded push, decompressed: labels and the entries' timestamps.
    static func streams(_ request: RecordedRequest) throws -> [(labels: [String: String], timestamps: [String])] {
        let json = try Gzip.decompress(request.bodyPrefix)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        return try #require(body["streams"] as? [[String: Any]]).map { stream in
            (
                stream["stream"] as? [String: String] ?? [:],
                (stream["values"] as? [[String]] ?? []).map { $0.first ?? "" }
            )
        }
    }

    /// Every output at once, with the Loki options from flags: the textfile, the exposition on
    /// standard output and one push carrying the tenant, the token, the job and extra labels.
    @Test func textfilePrometheusAndLokiTogetherWithEveryLokiFlag() throws {
        let loki = try Self.loki()
        defer { loki.stop() }
        let directory = try TemporaryDirectory()
        let token = directory.file("token")
        try "s3cret-token\n".write(toFile: token, atomically: false, encoding: .utf8)
        let outcome = try Executable.named("hermes-export").run(
            [
                "--textfile", directory.file("h.prom"), "--prometheus", "--loki", loki.baseURL + "/",
                "--loki-job", "speed", "--loki-label", "site=attic", "--loki-label", "rack=2",
                "--loki-tenant", "team-a", "--loki-token-file", token,
            ],
            stdin: resultLine(1) + "\n" + failure + "\n",
            environment: ["LOKI_URL": "http://127.0.0.1:9/never-used", "LOKI_JOB_LABEL": "not-this"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.isEmpty)
        #expect(outcome.stdout.contains("\nhermes_last_run_success 0\n"))
        let text = try String(contentsOfFile: directory.file("h.prom"), encoding: .utf8)
        #expect(text == outcome.stdout)
        let request = try #require(loki.requests.first)
        #expect(loki.requests.count == 1)
        #expect(request.method == "POST" && request.target == "/loki/api/v1/push")
        #expect(request.header("X-Scope-OrgID") == "team-a")
        #expect(request.header("Authorization") == "Bearer s3cret-token")
        #expect(request.header("Content-Encoding") == "gzip")
        let streams = try Self.streams(request)
        #expect(
            streams.map(\.labels) == [
                ["job": "speed", "site": "attic", "rack": "2", "type": "result"],
                ["job": "speed", "site": "attic", "rack": "2", "type": "failure"],
            ])
        #expect(streams.map(\.timestamps) == [["1777636860000000000"], ["1777640400000000000"]])
        #expect(!outcome.stdout.contains("s3cret") && !outcome.stderr.contains("s3cret"))
    }

    /// The Python Hermes's variables alone configure the push; Hermes's own names win over them.
    @Test func lokiFromThePythonHermesEnvironment() throws {
        let loki = try Self.loki()
        defer { loki.stop() }
        let unused = try Self.loki()
        defer { unused.stop() }
        let python = try Executable.named("hermes-export").run(
            [], stdin: resultLine(1) + "\n",
            environment: ["LOKI_URL": loki.baseURL, "LOKI_JOB_LABEL": "legacy_job"])
        #expect(python.status == 0, "\(python.stderr)")
        #expect(python.stdout.isEmpty)
        let own = try Executable.named("hermes-export").run(
            [], stdin: resultLine(2) + "\n",
            environment: [
                "LOKI_URL": unused.baseURL, "HERMES_LOKI_URL": loki.baseURL, "LOKI_JOB_LABEL": "legacy_job",
                "HERMES_LOKI_JOB": "hermes_job",
            ])
        #expect(own.status == 0, "\(own.stderr)")
        #expect(unused.requests.isEmpty)
        let jobs = try loki.requests.map { try Self.streams($0).first?.labels["job"] }
        #expect(jobs == ["legacy_job", "hermes_job"])
    }

    /// A 400 is final: not retried, Loki's own words on standard error, status 65, and the
    /// textfile written all the same.
    @Test func aRefusedPushShowsLokisMessageAndExits65() throws {
        let loki = try Self.loki(status: 400, body: "entry with timestamp 2026-05-01 too old")
        defer { loki.stop() }
        let directory = try TemporaryDirectory()
        let outcome = try Executable.named("hermes-export").run(
            ["--textfile", directory.file("h.prom"), "--loki", loki.baseURL, "--spool", directory.file("spool")],
            stdin: resultLine(1) + "\n")
        #expect(outcome.status == 65, "\(outcome.stderr)")
        #expect(
            outcome.stderr.contains(
                "hermes-export: Loki at \(loki.baseURL)/loki/api/v1/push answered HTTP 400: entry with timestamp 2026-05-01 too old"
            ))
        #expect(
            outcome.stderr.contains("set the 1 refused record(s) aside in \(directory.file("spool"))/rejected/loki-"))
        #expect(loki.requests.count == 1)
        #expect(FileManager.default.fileExists(atPath: directory.file("h.prom")))
        let rejected = try FileManager.default.contentsOfDirectory(atPath: directory.file("spool/rejected"))
        #expect(rejected.count == 1)
        let kept = try String(contentsOfFile: directory.file("spool/rejected/" + rejected[0]), encoding: .utf8)
        #expect(kept.hasPrefix("# Loki at "), "the receiver's message heads the file")
        #expect(kept.contains("\"timestamp\":\"2026-05-01T12:01:00.000Z\""), "the record itself follows")
        // Set aside, not retried: a second run sends only its own record.
        let again = try Executable.named("hermes-export").run(
            ["--loki", loki.baseURL, "--spool", directory.file("spool")], stdin: resultLine(2) + "\n")
        #expect(again.status == 65)
        #expect(loki.requests.count == 2)
    }
}
