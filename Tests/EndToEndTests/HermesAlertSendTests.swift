import Foundation
import HermesTestSupport
import Testing

/// `hermes-alert send`: a digest from standard input through the providers alerts use.
@Suite struct HermesAlertSendTests {
    let alert: Executable
    init() throws { alert = try Executable.named("hermes-alert") }

    func send(_ arguments: [String], stdin: String) throws -> Executable.Outcome {
        try alert.run(["send", "--allow-private-targets", "--timeout", "3s"] + arguments, stdin: stdin, timeout: 30)
    }

    static let digest = "**Week**: 336 tests, 2 failures\nmedian download 93.1 Mbit/s\n"

    @Test func aDigestReachesEveryProviderQuietlyAndSaysNothing() throws {
        let server = try TestServer.start { _ in .ok("{}") }
        defer { server.stop() }
        let token = try TemporaryDirectory()
        try "gotify-secret".write(toFile: token.file("gotify"), atomically: false, encoding: .utf8)
        let outcome = try send(
            [
                "--title", "Hermes: the week", "--format", "markdown", "--webhook-url", server.baseURL + "/hook",
                "--gotify-url", server.baseURL + "/gotify", "--gotify-token-file", token.file("gotify"),
                "--ntfy-url", server.baseURL, "--ntfy-topic", "net", "--apprise-url", server.baseURL + "/notify/k",
            ], stdin: Self.digest)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.isEmpty && outcome.stderr.isEmpty)
        let requests = server.requests
        #expect(requests.count == 4)
        func body(_ path: String) -> String {
            String(decoding: requests.first { $0.path == path }?.bodyPrefix ?? [], as: UTF8.self)
        }
        let webhook = body("/hook")
        #expect(webhook.contains(#""event":"digest""#))
        #expect(webhook.contains(#""type":"speedtest_digest""#))
        #expect(webhook.contains(#""rule":null"#))
        #expect(webhook.contains(#""title":"Hermes: the week""#))
        #expect(webhook.contains(#""message":"**Week**: 336 tests, 2 failures\nmedian download 93.1 Mbit/s""#))
        #expect(body("/gotify/message").contains(#""priority":3"#), "a digest makes no sound")
        let ntfy = try #require(requests.first { $0.path == "/net" })
        #expect(ntfy.header("Markdown") == "yes")
        #expect(ntfy.header("Tags") == "bar_chart")
        #expect(ntfy.header("Priority") == "3")
        #expect(
            String(decoding: ntfy.bodyPrefix, as: UTF8.self).hasPrefix(Self.digest.trimmingCharacters(in: .newlines)))
        let apprise = body("/notify/k")
        #expect(apprise.contains(#""format":"markdown""#) && apprise.contains(#""type":"info""#))
    }

    @Test func plainTextIsNotMarkedAsMarkdown() throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let outcome = try send(["--ntfy-url", server.baseURL, "--ntfy-topic", "net"], stdin: "all quiet\n")
        #expect(outcome.status == 0)
        #expect(server.requests.first?.header("Markdown") == nil)
        #expect(server.requests.first?.header("Title") == "Hermes")
    }

    @Test func aProviderThatFailsIsNamedAndTheStatusSaysHowMany() throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let closed = try closedLoopbackPort()
        let outcome = try send(
            [
                "--webhook-url", server.baseURL + "/hook", "--ntfy-url", "http://127.0.0.1:\(closed)", "--ntfy-topic",
                "t",
            ],
            stdin: "hello\n")
        #expect(outcome.status == 75)
        #expect(outcome.stderrLines.count == 1)
        #expect(outcome.stderrLines.first?.hasPrefix("hermes-alert: ntfy: not sent: could not connect") == true)
        let none = try send(["--ntfy-url", "http://127.0.0.1:\(closed)", "--ntfy-topic", "t"], stdin: "hello\n")
        #expect(none.status == 69)
    }

    @Test(arguments: ["", " \n\n\t\n"])
    func anEmptyMessageIsNotSent(stdin: String) throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let outcome = try send(["--webhook-url", server.baseURL + "/hook"], stdin: stdin)
        #expect(outcome.status == 65)
        #expect(outcome.stderr.contains("hermes-alert: nothing to send"))
        #expect(server.requests.isEmpty)
    }

    @Test func anOversizedMessageIsRefusedWhole() throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let outcome = try send(
            ["--webhook-url", server.baseURL + "/hook"], stdin: String(repeating: "x", count: 70_000))
        #expect(outcome.status == 65)
        #expect(outcome.stderr.contains("at most 65536 are sent"))
        #expect(server.requests.isEmpty)
    }

    @Test func withoutAProviderItIsAConfigurationError() throws {
        let outcome = try alert.run(["send"], stdin: "hello\n", timeout: 30)
        #expect(outcome.status == 78)
        #expect(outcome.stderr.contains("no provider configured"))
    }
}

extension HermesAlertSendTests {
    /// send goes through the target guard like every alert: a loopback provider needs the flag.
    @Test func theTargetGuardAppliesToDigestsToo() throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let outcome = try alert.run(
            ["send", "--timeout", "2s", "--webhook-url", server.baseURL + "/hook"], stdin: "hello\n", timeout: 30)
        #expect(outcome.status == 69)
        #expect(outcome.stderr.contains("--allow-private-targets"), "\(outcome.stderr)")
        #expect(server.requests.isEmpty)
    }

    /// The weekly pipeline as hermes-digest.service runs it, report into send.
    @Test func aReportDigestGoesOutAsOneNotification() throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let records =
            #"{"v":1,"type":"result","timestamp":"2026-06-01T10:00:00.000Z","download_mbps":93.4,"upload_mbps":20,"ping_ms":9,"jitter_ms":null,"isp_name":null,"server_name":"","server_location":"","server_id":null}"#
        let digest = try Executable.named("hermes-report").run(
            ["--format", "markdown", "--title", "Last week"], stdin: records + "\n")
        #expect(digest.status == 0)
        let sent = try send(
            ["--format", "markdown", "--title", "Hermes weekly", "--ntfy-url", server.baseURL, "--ntfy-topic", "t"],
            stdin: digest.stdout)
        #expect(sent.status == 0, "\(sent.stderr)")
        let body = String(decoding: server.requests.first?.bodyPrefix ?? [], as: UTF8.self)
        #expect(body.hasPrefix("**Last week** 2026-06-01 10:00 to 2026-06-01 10:00 UTC  \nTests: 1, none failed"))
        #expect(server.requests.first?.header("Markdown") == "yes")
    }
}
