import HermesAlert
import HermesCore
import HermesTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct DeliveryTests {
    static let notification = AlertNotification.test(at: at(0))

    func options(timeout: Duration = .seconds(5)) -> DeliveryOptions {
        DeliveryOptions(
            timeout: timeout, targetGuard: TargetGuard(allowsPrivateTargets: true), firstRetryDelay: .milliseconds(50))
    }

    /// Answers the first request with `first` and every later one with 200.
    func firstThenOK(_ first: TestReply) -> @Sendable (RecordedRequest) -> TestReply {
        firstThen(first, .ok(""))
    }

    /// Delivers one webhook notification to a receiver that answers `first`, then 200, and
    /// expects it delivered on the second attempt; the time it took.
    @discardableResult
    func deliveredOnTheSecondAttempt(after first: TestReply) throws -> Duration {
        let server = try TestServer.start(route: firstThenOK(first))
        defer { server.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        let reports = Delivery.send(
            [Self.notification], through: [WebhookProvider(url: server.baseURL)], options: options())
        let elapsed = clock.now - start
        #expect(reports.first?.deliveredAll == true, "\(reports)")
        #expect(server.requests.count == 2)
        return elapsed
    }

    /// Answers the first request with `first` and every later one with `rest`.
    func firstThen(_ first: TestReply, _ rest: TestReply) -> @Sendable (RecordedRequest) -> TestReply {
        let calls = Mutex(0)
        return { _ in
            let call = calls.withLock { count in
                count += 1
                return count
            }
            return call == 1 ? first : rest
        }
    }

    @Test func aReceiverThatNeverAnswersDelaysNoOtherProvider() throws {
        let silent = try TestServer.start { _ in .neverAnswer }
        defer { silent.stop() }
        let answering = try TestServer.start { _ in .ok("") }
        defer { answering.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        let reports = Delivery.send(
            [Self.notification],
            through: [WebhookProvider(url: silent.baseURL + "/a"), WebhookProvider(url: answering.baseURL + "/b")],
            options: options(timeout: .seconds(1)))
        let elapsed = clock.now - start
        // The silent one ended on its own 1 s timeout ("timed out" below), not the run's margin.
        #expect(elapsed < .seconds(5), "\(elapsed)")
        #expect(reports.map(\.deliveredAll) == [false, true])
        #expect(reports[0].failures.first?.contains("timed out") == true, "\(reports[0].failures)")
        #expect(answering.requests.count == 1)
        #expect(AlertRun.exitCode(for: reports, notifications: 1) == .temporaryFailure)
    }

    @Test func aServerErrorIsRetried() throws {
        try deliveredOnTheSecondAttempt(
            after: .respond(status: 500, reason: "Internal Server Error", headers: [], body: Array("oops".utf8)))
    }

    @Test func tooManyRequestsWaitsForRetryAfter() throws {
        let elapsed = try deliveredOnTheSecondAttempt(
            after: .respond(status: 429, reason: "Too Many Requests", headers: [("Retry-After", "1")], body: []))
        #expect(elapsed >= .seconds(1))
    }

    @Test func aRetryAfterDateIsWaitedFor() throws {
        let elapsed = try deliveredOnTheSecondAttempt(
            after: .respond(
                status: 503, reason: "Service Unavailable", headers: [("Retry-After", httpDate(secondsFromNow: 2))],
                body: []))
        // Whole seconds: two from now is at least one full second away.
        #expect(elapsed >= .seconds(1))
    }

    /// `Retry-After: 0` from a server that keeps failing must neither spin nor overflow the
    /// growing backoff: a few paced attempts, then the budget ends the delivery.
    @Test func aZeroRetryAfterIsPacedByTheBackoffUntilTheBudgetEnds() throws {
        let server = try TestServer.start { _ in
            .respond(status: 503, reason: "Service Unavailable", headers: [("Retry-After", "0")], body: [])
        }
        defer { server.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        let reports = Delivery.send(
            [Self.notification], through: [WebhookProvider(url: server.baseURL)],
            options: DeliveryOptions(
                timeout: .seconds(3), targetGuard: TargetGuard(allowsPrivateTargets: true),
                firstRetryDelay: .milliseconds(250)))
        let elapsed = clock.now - start
        #expect(reports.first?.deliveredAll == false)
        // Ended by the 3 s budget, not retried for as long as the server says "0".
        #expect(elapsed < .seconds(10))
        // 250, 500, 1000, 1000 ms ...: at most 5 attempts fit in 3 s.
        #expect((2...5).contains(server.requests.count), "\(server.requests.count) attempts")
    }

    @Test func aRetryAfterBeyondTheBudgetFailsAtOnce() throws {
        let server = try TestServer.start { _ in
            .respond(status: 429, reason: "Too Many Requests", headers: [("Retry-After", "3600")], body: [])
        }
        defer { server.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        let reports = Delivery.send(
            [Self.notification], through: [WebhookProvider(url: server.baseURL)], options: options())
        // Not the hour the server asked for.
        #expect(clock.now - start < .seconds(5))
        #expect(reports.first?.failures.first?.contains("answered HTTP 429") == true)
        #expect(reports.first?.failures.first?.contains("the server asked to wait 3600 s") == true, "\(reports)")
        #expect(AlertRun.exitCode(for: reports, notifications: 1) == .unavailable)
    }

    @Test func aClientErrorIsNotRetried() throws {
        let server = try TestServer.start { _ in
            .respond(status: 401, reason: "Unauthorized", headers: [], body: Array(#"{"error":"Unauthorized"}"#.utf8))
        }
        defer { server.stop() }
        let reports = Delivery.send(
            [Self.notification], through: [WebhookProvider(url: server.baseURL)], options: options())
        #expect(server.requests.count == 1)
        #expect(reports.first?.failures == [#"\#(server.baseURL)/… answered HTTP 401: {"error":"Unauthorized"}"#])
    }

    @Test func aRedirectIsNotFollowed() throws {
        let server = try TestServer.start { request in
            request.path == "/hook"
                ? .respond(status: 302, reason: "Found", headers: [("Location", "/elsewhere")], body: [])
                : .ok("")
        }
        defer { server.stop() }
        let reports = Delivery.send(
            [Self.notification], through: [WebhookProvider(url: server.baseURL + "/hook")], options: options())
        #expect(server.requests.map(\.path) == ["/hook"])
        #expect(reports.first?.failures.first?.hasSuffix("answered HTTP 302; redirects are not followed") == true)
    }

    @Test func aRefusedConnectionIsRetriedWithinTheBudget() throws {
        let port = try closedLoopbackPort()
        let clock = ContinuousClock()
        let start = clock.now
        let reports = Delivery.send(
            [Self.notification], through: [WebhookProvider(url: "http://127.0.0.1:\(port)/")],
            options: options(timeout: .milliseconds(600)))
        #expect(clock.now - start < .seconds(5))
        let message = reports.first?.failures.first ?? ""
        #expect(message.contains("could not connect"), "\(reports)")
        // Delays of 50, 100 and 200 ms fit in 600 ms, the next one of 400 ms does not: 4 attempts
        // on an idle host, fewer when connecting and scheduling on a loaded one eat into the
        // budget; never more, and always a retry.
        #expect(
            message.firstMatch(of: /; no time left to retry within the timeout after [234] attempts$/) != nil,
            "\(message)")
    }

    /// The server takes the request and hangs up without a byte of an answer, as one that
    /// restarts does; the next attempt is answered.
    @Test func anEmptyReplyIsRetried() throws {
        try deliveredOnTheSecondAttempt(after: .raw([]))
    }

    @Test func aConnectionResetMidResponseIsRetried() throws {
        try deliveredOnTheSecondAttempt(after: .reset(after: Array("HTTP/1.1 200 OK\r\nContent-Le".utf8)))
    }

    @Test func aFailureAfterRetriesSaysWhichAttemptFailed() throws {
        let server = try TestServer.start(
            route: firstThen(
                .respond(status: 503, reason: "Service Unavailable", headers: [], body: []),
                .respond(status: 401, reason: "Unauthorized", headers: [], body: [])))
        defer { server.stop() }
        let reports = Delivery.send(
            [Self.notification], through: [WebhookProvider(url: server.baseURL)], options: options())
        #expect(reports.first?.failures == ["\(server.baseURL)/… answered HTTP 401 (attempt 2)"])
    }
}

/// The IMF-fixdate `seconds` from now, as a server writes `Retry-After`.
func httpDate(secondsFromNow seconds: Int) -> String {
    var time = time_t(Glibc.time(nil) + seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    var buffer = [CChar](repeating: 0, count: 64)
    let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
    return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
