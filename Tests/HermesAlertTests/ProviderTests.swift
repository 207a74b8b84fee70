import HermesAlert
import HermesCore
import HermesHTTP
import HermesTestSupport
import Testing

/// Each provider against a loopback receiver, asserting the request it makes.
@Suite struct ProviderTests {
    static let options = DeliveryOptions(timeout: .seconds(5), targetGuard: TargetGuard(allowsPrivateTargets: true))

    static let notification = AlertNotification(
        event: .failure, rule: .failure, consecutive: 3, error: "could not connect to \"speed.example\"",
        record: failure(0, "could not connect to \"speed.example\""), timestamp: at(0),
        title: "Speedtest failure (3 consecutive)", message: "could not connect to \"speed.example\"")

    /// Sends `notification` through `provider` and returns the one request the receiver saw.
    func deliver(_ provider: (String) -> any NotificationProvider) throws -> RecordedRequest {
        let server = try TestServer.start { _ in .ok("{}") }
        defer { server.stop() }
        let reports = Delivery.send([Self.notification], through: [provider(server.baseURL)], options: Self.options)
        #expect(reports.first?.deliveredAll == true, "\(reports)")
        let requests = server.requests
        try #require(requests.count == 1)
        return requests[0]
    }

    func body(_ request: RecordedRequest) -> String { String(decoding: request.bodyPrefix, as: UTF8.self) }

    @Test func webhookPostsThePythonFieldsPlusEventAndRecord() throws {
        let request = try deliver { WebhookProvider(url: $0 + "/hooks/secret/") }
        #expect(request.method == "POST")
        #expect(request.target == "/hooks/secret")
        #expect(request.header("Content-Type") == "application/json")
        let expected =
            #"{"type":"speedtest_failure","consecutive_failures":3,"error":"could not connect to \"speed.example\"","#
            + #""timestamp":"2026-05-28T20:26:40.000Z","event":"failure","rule":"failure","#
            + #""title":"Speedtest failure (3 consecutive)","message":"could not connect to \"speed.example\"","#
            + #""repeat":false,"record":{"v":1,"type":"failure","timestamp":"2026-05-28T20:26:40.000Z","#
            + #""error":"could not connect to \"speed.example\"","error_kind":"connect"}}"#
        #expect(body(request) == expected)
    }

    @Test func gotifySendsTheTokenInAHeaderNeverTheQuery() throws {
        let request = try deliver { GotifyProvider(url: $0 + "/", token: "AbCdEf.123", priority: 12) }
        #expect(request.method == "POST")
        #expect(request.target == "/message")
        #expect(request.header("X-Gotify-Key") == "AbCdEf.123")
        #expect(request.header("Content-Type") == "application/json")
        let expected =
            #"{"title":"Speedtest failure (3 consecutive)","#
            + #""message":"could not connect to \"speed.example\"\n\n**Time:** 2026-05-28 20:26:40 UTC","#
            + #""priority":10,"extras":{"client::display":{"contentType":"text/markdown"},"#
            + #""hermes::event":"failure","hermes::failure_count":3}}"#
        #expect(body(request) == expected)
    }

    @Test(arguments: [(8, 3), (2, 2)])
    func gotifyRecoveriesUseAtMostPriority3(configured: Int, sent: Int) throws {
        var scenario = Scenario(AlertPolicy(failureThreshold: 1))
        let alert = try #require(scenario.feed(failure(0)).first)
        let recovery = try #require(scenario.feed(result(1)).first)
        let gotify = GotifyProvider(url: "https://g.example", token: "t", priority: configured)
        #expect(self.sent(gotify.request(for: alert)).contains(#""priority":\#(configured),"#))
        #expect(self.sent(gotify.request(for: recovery)).contains(#""priority":\#(sent),"#))
    }

    @Test func ntfyPublishesTextWithTitlePriorityTagsAndBearer() throws {
        let request = try deliver {
            NtfyProvider(url: $0, topic: "/hermes-alerts", token: "tk_secret", priority: 4, tags: ["warning", "skull"])
        }
        #expect(request.method == "POST")
        #expect(request.target == "/hermes-alerts")
        #expect(request.header("Title") == "Speedtest failure (3 consecutive)")
        #expect(request.header("Priority") == "4")
        #expect(request.header("Tags") == "warning,skull")
        #expect(request.header("Authorization") == "Bearer tk_secret")
        #expect(body(request) == "could not connect to \"speed.example\"\n\nTime: 2026-05-28 20:26:40 UTC")
    }

    @Test func ntfyWithoutATokenSendsNoAuthorization() throws {
        let request = try deliver { NtfyProvider(url: $0, topic: "t", token: nil) }
        #expect(request.header("Authorization") == nil)
        #expect(request.header("Priority") == "3")
        #expect(request.header("Tags") == "warning,rotating_light")
    }

    @Test func appriseStatelessSendsServiceURLs() throws {
        let request = try deliver { AppriseProvider(url: $0, serviceURLs: ["gotifys://g.example/tok"]) }
        #expect(request.target == "/notify")
        #expect(request.header("Content-Type") == "application/json")
        let expected =
            #"{"title":"Speedtest failure (3 consecutive)","#
            + #""body":"could not connect to \"speed.example\"\n\nTime: 2026-05-28 20:26:40 UTC","#
            + #""type":"failure","urls":["gotifys://g.example/tok"]}"#
        #expect(body(request) == expected)
    }

    @Test func appriseStatefulKeepsTheKeyedPath() throws {
        let request = try deliver { AppriseProvider(url: $0 + "/notify/hermes-key/") }
        #expect(request.target == "/notify/hermes-key")
        #expect(!body(request).contains("urls"))
    }

    @Test func appriseLooksForNotifyInThePathOnly() {
        #expect(AppriseProvider(url: "https://notify.example.com").endpoint == "https://notify.example.com/notify")
        #expect(AppriseProvider(url: "https://a.example/apprise/").endpoint == "https://a.example/apprise/notify")
        #expect(AppriseProvider(url: "https://a.example/notify/k").endpoint == "https://a.example/notify/k")
    }

    /// The body a provider would send for `notification`.
    func sent(_ request: HTTPRequest) -> String {
        guard case .bytes(let bytes) = request.body else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    static let resultRecord =
        #"{"v":1,"type":"result","timestamp":"2026-05-28T20:27:40.000Z","download_mbps":42.5,"upload_mbps":20.0,"#
        + #""ping_ms":10.0,"jitter_ms":null,"isp_name":null,"server_name":"","server_location":"","server_id":null}"#

    @Test func webhookRecoveryBody() throws {
        var scenario = Scenario(AlertPolicy(failureThreshold: 1))
        _ = scenario.feed(failure(0))
        let recovery = try #require(scenario.feed(result(1, download: 42.5)).first)
        let expected =
            #"{"type":"speedtest_recovery","consecutive_failures":0,"error":null,"#
            + #""timestamp":"2026-05-28T20:27:40.000Z","event":"recovery","rule":"failure","#
            + #""title":"Speedtest recovered after 1 failure","#
            + #""message":"Measurements succeed again: download 42.5 Mbit/s, upload 20 Mbit/s, ping 10 ms."#
            + #" The alert was raised at 2026-05-28T20:26:40.000Z.","#
            + #""repeat":false,"record":"# + Self.resultRecord + "}"
        #expect(sent(WebhookProvider(url: "https://hooks.example/h").request(for: recovery)) == expected)
    }

    @Test func webhookThresholdBody() throws {
        var scenario = Scenario(AlertPolicy(minimumDownloadMbps: 50, breachCount: 1))
        let breach = try #require(scenario.feed(result(1, download: 42.5)).first)
        let expected =
            #"{"type":"speedtest_threshold","consecutive_failures":0,"#
            + #""error":"Download was 42.5 Mbit/s, below the minimum of 50 Mbit/s.","#
            + #""timestamp":"2026-05-28T20:27:40.000Z","event":"threshold","rule":"download","#
            + #""title":"Download below 50 Mbit/s (1 consecutive result)","#
            + #""message":"Download was 42.5 Mbit/s, below the minimum of 50 Mbit/s.","#
            + #""repeat":false,"record":"# + Self.resultRecord + "}"
        #expect(sent(WebhookProvider(url: "https://hooks.example/h").request(for: breach)) == expected)
    }

    @Test func appriseKeyedBody() throws {
        let request = AppriseProvider(url: "https://apprise.example/notify/hermes-key").request(for: Self.notification)
        #expect(request.url == "https://apprise.example/notify/hermes-key")
        #expect(request.displayURL == "https://apprise.example/…")
        let expected =
            #"{"title":"Speedtest failure (3 consecutive)","#
            + #""body":"could not connect to \"speed.example\"\n\nTime: 2026-05-28 20:26:40 UTC","type":"failure"}"#
        #expect(sent(request) == expected)
    }

    /// 204 from the Apprise API means it has no configuration for the key: nothing was sent,
    /// and saying "ok" would be a silent failure.
    @Test func appriseNoContentIsNotDelivered() throws {
        let server = try TestServer.start { _ in .respond(status: 204, reason: "No Content", headers: [], body: []) }
        defer { server.stop() }
        let reports = Delivery.send(
            [Self.notification], through: [AppriseProvider(url: server.baseURL + "/notify/wrong-key")],
            options: Self.options)
        #expect(reports.first?.deliveredAll == false)
        #expect(reports.first?.failures.first?.contains("no configuration for this key") == true)
        #expect(server.requests.count == 1, "not retried")
        let webhook = Delivery.send(
            [Self.notification], through: [WebhookProvider(url: server.baseURL + "/hook")], options: Self.options)
        #expect(webhook.first?.deliveredAll == true, "a webhook's 204 is a delivery")
    }

    @Test func secretPathsStayOutOfMessages() {
        let webhook = WebhookProvider(url: "https://hooks.example/services/T0/B0/secret").request(
            for: Self.notification)
        #expect(webhook.displayURL == "https://hooks.example/…")
        let ntfy = NtfyProvider(url: "https://ntfy.example", topic: "secret-topic", token: nil)
        #expect(ntfy.request(for: Self.notification).displayURL == "https://ntfy.example/…")
    }
}
