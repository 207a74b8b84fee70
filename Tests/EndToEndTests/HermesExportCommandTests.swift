import Foundation
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

    @Test func anUnreachableLokiFromLOKI_URLExits75WithoutShowingTheSecret() throws {
        let directory = try TemporaryDirectory()
        let secret = directory.file("password")
        try "hunter2-secret\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let port = try closedLoopbackPort()
        let outcome = try Executable.named("hermes-export").run(
            [
                "--textfile", directory.file("h.prom"), "--loki-retries", "1", "--loki-user", "me",
                "--loki-password-file", secret,
            ],
            stdin: resultLine(1) + "\n", environment: ["LOKI_URL": "http://127.0.0.1:\(port)"])
        #expect(outcome.status == 75, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("could not connect to http://127.0.0.1:\(port)/loki/api/v1/push"))
        #expect(outcome.stderr.contains("retrying in"))
        #expect(!outcome.stderr.contains("hunter2"))
        #expect(FileManager.default.fileExists(atPath: directory.file("h.prom")), "the textfile does not wait for Loki")
    }
}
