import CCurl
import Testing

@testable import HermesHTTP

/// The one retry policy of the pushing sinks and the alert providers.
@Suite struct RetryPolicyTests {
    @Test func whatIsRetried() {
        for status in [408, 429, 500, 502, 503, 504, 599] { #expect(RetryPolicy.isRetryable(status: status)) }
        for status in [200, 301, 400, 401, 403, 404, 405, 407, 413, 422] {
            #expect(!RetryPolicy.isRetryable(status: status), "\(status)")
        }
    }

    static func error(_ code: CURLcode) -> HTTPError {
        HTTPError(kind: HTTPError.Kind(curlCode: code), message: "test", curlCode: Int(code.rawValue))
    }

    @Test func noWholeAnswerIsRetriedAndConfigurationIsNot() {
        for code in [
            CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_RECV_ERROR, CURLE_OPERATION_TIMEDOUT,
            CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_WEIRD_SERVER_REPLY,
        ] {
            #expect(RetryPolicy.isRetryable(Self.error(code)), "\(code)")
        }
        for code in [
            CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_URL_MALFORMAT, CURLE_LOGIN_DENIED,
            CURLE_TOO_MANY_REDIRECTS, CURLE_REMOTE_ACCESS_DENIED, CURLE_ABORTED_BY_CALLBACK,
        ] {
            #expect(!RetryPolicy.isRetryable(Self.error(code)), "\(code)")
        }
    }

    static let loki = RetryPolicy(
        firstDelay: .milliseconds(500), maximumDelay: .seconds(30), jitter: true, maximumRetryAfter: .seconds(30),
        maximumAttempts: 6)

    @Test func delaysDoubleToTheCapWithJitterInTheUpperHalf() {
        #expect(Self.loki.delay(beforeRetry: 1, retryAfter: nil, random: 0) == .milliseconds(250))
        #expect(Self.loki.delay(beforeRetry: 1, retryAfter: nil, random: 1) == .milliseconds(500))
        #expect(Self.loki.delay(beforeRetry: 3, retryAfter: nil, random: 1) == .seconds(2))
        #expect(Self.loki.delay(beforeRetry: 40, retryAfter: nil, random: 1) == .seconds(30))
    }

    @Test func aServersRetryAfterIsHonouredUpToItsCap() {
        #expect(Self.loki.delay(beforeRetry: 1, retryAfter: .seconds(7), random: 0) == .seconds(7))
        #expect(Self.loki.delay(beforeRetry: 1, retryAfter: .seconds(3600), random: 0) == .seconds(30))
        // A Retry-After of 0 never shortens the backoff into a busy loop.
        #expect(Self.loki.delay(beforeRetry: 2, retryAfter: .zero, random: 1) == .seconds(1))
    }

    @Test func attemptsEndAtTheLimitWithTheLastFailure() {
        var waits: [Duration] = []
        var calls = 0
        let attempt = { () -> RetryPolicy.Step<Int> in
            calls += 1
            return .retryable(calls, retryAfter: nil)
        }
        let outcome = Self.loki.run(sleep: { waits.append($0) }, random: { 1 }, attempt)
        guard case .exhausted(let last, let attempts, _) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(calls == 6 && attempts == 6 && last == 6)
        #expect(waits == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8)])
    }

    @Test func aFinalFailureIsNotRetried() {
        var calls = 0
        let attempt = { () -> RetryPolicy.Step<String> in
            calls += 1
            return .failed("401")
        }
        let outcome = Self.loki.run(sleep: { _ in Issue.record("slept") }, attempt)
        guard case .failed("401", attempts: 1) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(calls == 1)
    }

    @Test func noRetryIsMadeWhoseWaitEndsPastTheDeadline() {
        let budget = RetryPolicy(
            firstDelay: .milliseconds(250), maximumDelay: .seconds(1), jitter: false,
            maximumRetryAfter: .seconds(86_400))
        var waits: [Duration] = []
        // Far in the past: no wait fits, so the first retryable failure ends the run.
        let attempt = { () -> RetryPolicy.Step<String> in .retryable("503", retryAfter: .seconds(60)) }
        let outcome = budget.run(until: .now - .seconds(1), sleep: { waits.append($0) }, attempt)
        guard case .exhausted("503", attempts: 1, retryAfter: .seconds(60)) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(waits.isEmpty)
    }
}
