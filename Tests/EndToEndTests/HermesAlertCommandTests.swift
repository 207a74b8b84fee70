import Foundation
import HermesTestSupport
import Testing

/// hermes-alert as a timer would run it: records on stdin, state in a file, receivers on loopback.
@Suite struct HermesAlertCommandTests {
    static func failureLine(_ minute: Int, _ error: String = "could not connect to speed.example") -> String {
        #"{"v":1,"type":"failure","timestamp":"2026-06-01T10:\#(String(format: "%02d", minute)):00.000Z","error":"\#(error)","error_kind":"connect"}"#
            + "\n"
    }

    static func resultLine(_ minute: Int, download: Double = 100) -> String {
        #"{"v":1,"type":"result","timestamp":"2026-06-01T10:\#(String(format: "%02d", minute)):00.000Z","download_mbps":\#(download),"upload_mbps":20,"ping_ms":9.5,"jitter_ms":null,"isp_name":null,"server_name":"","server_location":"","server_id":null}"#
            + "\n"
    }

    let alert: Executable
    let directory: TemporaryDirectory
    var statePath: String { directory.file("state.json") }

    init() throws {
        alert = try Executable.named("hermes-alert")
        directory = try TemporaryDirectory()
    }

    func run(_ arguments: [String], stdin: String = "", environment: [String: String] = [:]) throws
        -> Executable.Outcome
    {
        try alert.run(
            ["--state", statePath, "--allow-private-targets", "--timeout", "3s"] + arguments, stdin: stdin,
            environment: environment, timeout: 30)
    }

    @Test func failuresAlertOnceThenRecover() throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let hook = ["--webhook-url", server.baseURL + "/hook", "--failure-threshold", "2"]
        var outcome = try run(hook, stdin: Self.failureLine(0))
        #expect(outcome.status == 0)
        #expect(outcome.stdout.isEmpty)
        #expect(
            outcome.stderrLines == ["hermes-alert: state file \(statePath) did not exist; starting with a fresh state"])
        #expect(server.requests.isEmpty)
        outcome = try run(hook, stdin: Self.failureLine(1) + Self.failureLine(2))
        #expect(outcome.status == 0)
        #expect(outcome.stderr.isEmpty)
        #expect(server.requests.count == 1, "the cooldown holds back the third failure")
        // A replay of what was already applied changes nothing, and says so.
        outcome = try run(hook, stdin: Self.failureLine(0) + Self.failureLine(2))
        #expect(server.requests.count == 1)
        #expect(
            outcome.stderrLines == [
                "hermes-alert: 2 record(s) not newer than the last one applied (2026-06-01T10:02:00.000Z) ignored"
            ])
        outcome = try run(hook, stdin: Self.resultLine(3))
        #expect(outcome.status == 0)
        let bodies = server.requests.map { String(decoding: $0.bodyPrefix, as: UTF8.self) }
        #expect(bodies.count == 2)
        #expect(bodies.first?.contains(#""event":"failure""#) == true)
        #expect(bodies.first?.contains(#""consecutive_failures":2"#) == true)
        #expect(bodies.last?.contains(#""event":"recovery""#) == true)
        let status = try alert.run(["status", "--state", statePath])
        #expect(status.status == 0)
        #expect(status.stdout.contains("consecutive failures: 0"))
        #expect(status.stdout.contains("last record: 2026-06-01T10:03:00.000Z"))
        #expect(status.stdout.contains("active alerts: none"))
    }

    @Test func exitCodesSayWhetherAllSomeOrNoneWereDelivered() throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let broken = try TestServer.start { _ in .respond(status: 403, reason: "Forbidden", headers: [], body: []) }
        defer { broken.stop() }
        let line = Self.failureLine(0)
        var outcome = try run(["--failure-threshold", "1", "--webhook-url", broken.baseURL], stdin: line)
        #expect(outcome.status == 69)
        #expect(outcome.stderrLines.last == "hermes-alert: webhook: \(broken.baseURL)/… answered HTTP 403")
        outcome = try run(
            [
                "--failure-threshold", "1", "--webhook-url", server.baseURL, "--ntfy-url", broken.baseURL,
                "--ntfy-topic", "t",
            ],
            stdin: Self.failureLine(1))
        #expect(outcome.status == 75)
        #expect(outcome.stderrLines.last?.hasPrefix("hermes-alert: ntfy: ") == true)
        // The undelivered first alert was retried by the second run and reached the webhook.
        #expect(server.requests.count == 1)
    }

    @Test func testExits75WhenOnlySomeProvidersFail() throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let broken = try TestServer.start { _ in .respond(status: 403, reason: "Forbidden", headers: [], body: []) }
        defer { broken.stop() }
        let outcome = try alert.run([
            "test", "--allow-private-targets", "--webhook-url", server.baseURL, "--ntfy-url", broken.baseURL,
            "--ntfy-topic", "t",
        ])
        #expect(outcome.status == 75)
        #expect(outcome.stdout == "webhook: ok\nntfy: failed: \(broken.baseURL)/… answered HTTP 403\n")
    }

    @Test func aRecoveryOwedForOverADayIsGivenUpAndSaidSo() throws {
        let state =
            #"{"v":1,"last_record":"2026-06-01T10:00:00.000Z","rules":{},"owed_recoveries":[{"rule":"failure","#
            + #""providers":["webhook"],"title":"Speedtest recovered after 3 failures","message":"m","#
            + #""timestamp":"2026-06-01T10:00:00.000Z","since":"2026-06-01T10:00:00.000Z"}]}"#
        try state.write(toFile: statePath, atomically: false, encoding: .utf8)
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let outcome = try run(["--webhook-url", server.baseURL], stdin: Self.resultLine(1))
        #expect(outcome.status == 0)
        #expect(
            outcome.stderrLines == [
                "hermes-alert: gave up sending the failure recovery of 2026-06-01T10:00:00.000Z to webhook after 24 hours of failures"
            ])
        #expect(server.requests.isEmpty)
        let status = try alert.run(["status", "--state", statePath])
        #expect(!status.stdout.contains("recovery owed"))
    }

    @Test func aDamagedStateFileIsReportedAndReplaced() throws {
        try "{\"v\":1,".write(toFile: statePath, atomically: false, encoding: .utf8)
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let outcome = try run(["--webhook-url", server.baseURL], stdin: Self.failureLine(0))
        #expect(outcome.status == 0)
        #expect(outcome.stderr.contains("state file \(statePath) is damaged (invalid JSON"))
        let status = try alert.run(
            ["status"], environment: ["HERMES_ALERT_STATE": statePath, "ALERT_GOTIFY_URL": "http://no-token.example"])
        #expect(status.status == 0)
        #expect(status.stdout.contains("consecutive failures: 1"))
        try "[]".write(toFile: statePath, atomically: false, encoding: .utf8)
        let damaged = try alert.run(["status", "--state", statePath])
        #expect(damaged.status == 65)
        #expect(damaged.stderr == "hermes-alert: state file \(statePath) is damaged: not a JSON object\n")
    }

    @Test func tokensComeFromFilesAndNeverAppearInOutput() throws {
        let server = try TestServer.start { _ in .respond(status: 401, reason: "Unauthorized", headers: [], body: []) }
        defer { server.stop() }
        let tokenFile = directory.file("gotify-token")
        try "s3cr3t-gotify\n".write(toFile: tokenFile, atomically: false, encoding: .utf8)
        try "tk_ntfy_secret".write(toFile: directory.file("ntfy-token"), atomically: false, encoding: .utf8)
        let outcome = try alert.run(
            [
                "test", "--allow-private-targets", "--gotify-url", server.baseURL, "--gotify-token-file", tokenFile,
                "--ntfy-url", server.baseURL, "--ntfy-topic", "secret-topic",
            ], environment: ["CREDENTIALS_DIRECTORY": directory.path])
        #expect(outcome.status == 69)
        #expect(outcome.stdout.split(separator: "\n").count == 2)
        #expect(outcome.stdout.hasPrefix("gotify: failed: \(server.baseURL)/message answered HTTP 401"))
        let requests = server.requests
        #expect(requests.first { $0.path == "/message" }?.header("X-Gotify-Key") == "s3cr3t-gotify")
        #expect(requests.first { $0.path == "/secret-topic" }?.header("Authorization") == "Bearer tk_ntfy_secret")
        for secret in ["s3cr3t", "tk_ntfy", "secret-topic"] {
            #expect(!outcome.stdout.contains(secret) && !outcome.stderr.contains(secret))
        }
    }

    @Test func thePythonEnvironmentConfiguresProviders() throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let outcome = try alert.run(
            ["test", "--allow-private-targets"],
            environment: [
                "ALERT_WEBHOOK_URL": server.baseURL + "/w", "ALERT_GOTIFY_URL": server.baseURL,
                "ALERT_GOTIFY_TOKEN": "envtoken", "ALERT_APPRISE_URL": server.baseURL + "/notify/key",
            ])
        #expect(outcome.stdout == "webhook: ok\ngotify: ok\napprise: ok\n")
        #expect(outcome.status == 0)
        #expect(server.requests.map(\.path).sorted() == ["/message", "/notify/key", "/w"])
    }

    /// A loopback proxy in the environment must not carry a request the guard checked: the
    /// public address would reach the proxy on this machine without --allow-private-targets.
    @Test func theEnvironmentsProxyIsNeverUsed() throws {
        let proxy = try TestServer.start { _ in .ok("") }
        defer { proxy.stop() }
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let environment = ["http_proxy": proxy.baseURL, "HTTPS_PROXY": proxy.baseURL, "all_proxy": proxy.baseURL]
        let outside = try alert.run(
            ["test", "--timeout", "1s", "--webhook-url", "http://8.8.8.8/x"], environment: environment, timeout: 30)
        #expect(outside.status == 69)
        let local = try alert.run(
            ["test", "--allow-private-targets", "--webhook-url", server.baseURL + "/hook"], environment: environment,
            timeout: 30)
        #expect(local.stdout == "webhook: ok\n")
        #expect(server.requests.map(\.target) == ["/hook"])
        #expect(proxy.requests.map(\.target) == [])
    }

    @Test func configurationErrorsExit78() throws {
        var outcome = try run([], stdin: Self.failureLine(0))
        #expect(outcome.status == 78)
        #expect(outcome.stderr.contains("no provider configured"))
        outcome = try run(["--gotify-url", "http://127.0.0.1:1"], stdin: Self.failureLine(0))
        #expect(outcome.status == 78)
        #expect(outcome.stderr.contains("Gotify needs an application token"))
        outcome = try run(["--webhook-url", "http://127.0.0.1:1", "--cooldown", "soon"], stdin: "")
        #expect(outcome.status == 78)
        outcome = try run(["--webhook-url", "http://127.0.0.1:1", "--failure-threshold", "0"], stdin: "")
        #expect(outcome.status == 64)
        // A URL that can never work is found before any record is read, not at every delivery.
        for arguments in [
            ["--webhook-url", "ftp://files.example/hook"], ["--webhook-url", "http://bad host/"],
            ["--ntfy-url", "http://127.0.0.1:1", "--ntfy-topic", "two words"],
        ] {
            outcome = try run(arguments, stdin: Self.failureLine(0))
            #expect(outcome.status == 78, "\(arguments): \(outcome.stderr)")
            #expect(outcome.stderr.hasPrefix("hermes-alert: "))
        }
        // And a state file from a newer version is left for that version.
        let directory = try TemporaryDirectory()
        let newer = #"{"v":99}"#
        try newer.write(toFile: directory.file("state.json"), atomically: false, encoding: .utf8)
        outcome = try alert.run(
            ["--state", directory.file("state.json"), "--webhook-url", "http://127.0.0.1:1"],
            stdin: Self.failureLine(0))
        #expect(outcome.status == 78)
        #expect(outcome.stderr.contains("upgrade hermes-alert"))
        #expect(try String(contentsOfFile: directory.file("state.json"), encoding: .utf8) == newer)
        outcome = try alert.run(["status", "--state", directory.file("state.json")])
        #expect(outcome.status == 78)
        #expect(outcome.stderr.contains("upgrade hermes-alert"))
    }

    /// hermes.service ends its pipeline with --if-configured: with no provider it must read the
    /// whole input (more than a pipe buffer) and succeed, but a broken provider is still an error.
    @Test func ifConfiguredReadsEverythingAndSucceedsWithoutAProvider() throws {
        let input = String(repeating: Self.failureLine(0), count: 5000)
        var outcome = try run(["--if-configured"], stdin: input)
        #expect(outcome.status == 0)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: statePath), "no provider, so no state to keep")
        outcome = try run(["--if-configured", "--gotify-url", "http://127.0.0.1:1"], stdin: Self.failureLine(0))
        #expect(outcome.status == 78)
        #expect(outcome.stderr.contains("Gotify needs an application token"))
    }

    /// The second run starts while the first holds the state lock and is still sending; it must
    /// see the first run's state, not the state both read before either wrote.
    @Test func twoRunsAtOnceLoseNoUpdate() throws {
        let server = try TestServer.start { _ in
            sleep(for: .milliseconds(800))
            return .ok("")
        }
        defer { server.stop() }
        let arguments = [
            "--state", statePath, "--allow-private-targets", "--webhook-url", server.baseURL, "--failure-threshold",
            "1",
        ]
        let first = Completion()
        let alert = self.alert
        let thread = Thread {
            first.outcome = try? alert.run(arguments, stdin: Self.failureLine(0))
            first.done.signal()
        }
        thread.start()
        let deadline = Date().addingTimeInterval(10)
        while server.requests.isEmpty && Date() < deadline { usleep(10_000) }
        try #require(server.requests.count == 1)
        let second = try alert.run(arguments, stdin: Self.failureLine(1))
        first.done.wait()
        #expect(first.outcome?.status == 0)
        #expect(second.status == 0)
        #expect(server.requests.count == 1, "the second run saw the first run's alert and its cooldown")
        let status = try alert.run(["status", "--state", statePath])
        #expect(status.stdout.contains("consecutive failures: 2"))
        #expect(status.stdout.contains("last record: 2026-06-01T10:01:00.000Z"))
    }
}

private final class Completion: @unchecked Sendable {
    var outcome: Executable.Outcome?
    let done = DispatchSemaphore(value: 0)
}
