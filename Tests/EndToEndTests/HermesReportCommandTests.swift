import Foundation
import HermesTestSupport
import Testing

/// hermes-report as a person or a timer runs it: records from hermes-store on stdin, a digest out.
@Suite struct HermesReportCommandTests {
    let report: Executable
    init() throws { report = try Executable.named("hermes-report") }

    static let input = """
        {"v":1,"type":"result","timestamp":"2026-06-01T00:30:00.000Z","download_mbps":90,"upload_mbps":18,"ping_ms":12,"jitter_ms":null,"isp_name":null,"server_name":"","server_location":"","server_id":null,"probe":"attic"}
        {"v":1,"type":"failure","timestamp":"2026-06-01T01:00:00.000Z","error":"could not connect to speed.example","error_kind":"connect","probe":"attic"}
        {"timestamp":"2026-06-01T03:00:00+02:00","download_mbps":100.0,"upload_mbps":20.0,"ping_ms":10.0,"server_name":"Berlin","server_location":"Berlin, DE"}

        """

    @Test func aDigestOfEveryAcceptedFormInAnyOrder() throws {
        let outcome = try report.run(["--format", "text", "--title", "Night"], stdin: Self.input)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.isEmpty)
        #expect(
            outcome.stdout == """
                Night 2026-06-01 00:30 to 2026-06-01 01:00 UTC
                Probe attic
                Tests: 2, 1 failed (connect 1)
                Latest test failed: connect at 2026-06-01 01:00 UTC: could not connect to speed.example
                Longest outage: ongoing since 2026-06-01 01:00 UTC, 1 failed test(s)
                Download: median 90.0 Mbit/s, worst 90.0 Mbit/s
                Upload: median 18.0 Mbit/s, worst 18.0 Mbit/s
                Latency: median 12.0 ms, 95th percentile 12.0 ms, worst 12.0 ms
                Probe unnamed
                Tests: 1, none failed
                Download: median 100 Mbit/s, worst 100 Mbit/s
                Upload: median 20.0 Mbit/s, worst 20.0 Mbit/s
                Latency: median 10.0 ms, 95th percentile 10.0 ms, worst 10.0 ms

                """)
    }

    @Test func badLinesAreReportedAndTheDigestIsStillWritten() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("digest.md")
        let outcome = try report.run(
            ["--format", "markdown", "--probe", "attic", "--output", path], stdin: "not json\n" + Self.input)
        #expect(outcome.status == 65)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderrLines.first?.hasPrefix("hermes-report: line 1: invalid JSON") == true)
        let digest = try String(contentsOfFile: path, encoding: .utf8)
        #expect(
            digest.hasPrefix(
                "**Hermes** 2026-06-01 00:30 to 2026-06-01 01:00 UTC  \nTests: 2, 1 failed (connect 1)  \n"),
            "Markdown lines end in two spaces, so that each fact stays a line")
        #expect(directory.entries == ["digest.md"], "no temporary file is left behind")
    }

    @Test func anEmptyInputSaysThereIsNothingYet() throws {
        let outcome = try report.run(
            ["--format", "text", "--since", "2026-06-01T00:00:00Z", "--until", "2026-06-02T00:00:00Z"], stdin: "")
        #expect(outcome.status == 0)
        #expect(outcome.stdout == "Hermes 2026-06-01 00:00 to 2026-06-02 00:00 UTC\nNo tests in this window.\n")
    }

    @Test(arguments: [
        ["--format", "pdf"], ["--since", "yesterday", "--format", "text"], ["--rows", "0"], ["--plan-down", "-5"],
        ["--format", "text", "--since", "2026-06-02T00:00:00Z", "--until", "2026-06-01T00:00:00Z"],
    ])
    func usageErrorsExit64(arguments: [String]) throws {
        let outcome = try report.run(arguments)
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderr.hasPrefix("hermes-report: "))
    }
}
