import CCurl
import HermesCore

/// When a request that failed is worth sending again, and how long to wait first: the one policy
/// of every pushing sink (Loki) and alert provider (docs/ARCHITECTURE.md, "Retries").
///
/// What is retried, and why:
/// - 408, 429 and 5xx: the server says "not now", not "never"; a `Retry-After` it sends is
///   honoured up to `maximumRetryAfter`.
/// - no answer, or no whole one (DNS, a refused or reset connection, a timeout, a connection closed
///   without a reply, an answer cut short or garbled): the network or the server is passing
///   through trouble. The request may have been processed, so a receiver can see it twice: better
///   than never.
/// - everything else is final. Another 4xx means the request or the configuration must change
///   first; 3xx is never followed (the URL to push to is the user's to give); TLS failures,
///   refused logins, redirect loops and requests libcurl cannot make are configuration.
public struct RetryPolicy: Sendable {
    /// The wait before the first retry; it doubles for each retry after.
    public var firstDelay: Duration
    /// Where the doubling stops.
    public var maximumDelay: Duration
    /// Waits spread over the upper half of the delay, so that probes failing together do not
    /// retry together.
    public var jitter: Bool
    /// The longest server-asked wait that is honoured; a longer one is cut to this.
    public var maximumRetryAfter: Duration
    /// Attempts in all, the first included; nil leaves the limit to the deadline.
    public var maximumAttempts: Int?

    public init(
        firstDelay: Duration, maximumDelay: Duration, jitter: Bool, maximumRetryAfter: Duration,
        maximumAttempts: Int? = nil
    ) {
        self.firstDelay = firstDelay
        self.maximumDelay = maximumDelay
        self.jitter = jitter
        self.maximumRetryAfter = maximumRetryAfter
        self.maximumAttempts = maximumAttempts
    }

    public static func isRetryable(status: Int) -> Bool {
        status == 408 || status == 429 || (500..<600).contains(status)
    }

    public static func isRetryable(_ error: HTTPError) -> Bool {
        switch error.kind {
        case .dns, .connect, .timeout: true
        // `.protocol` holds both an answer cut short and a server's refusal; only the first passes.
        case .protocol: error.curlCode.map { Self.transientAnswerCodes.contains($0) } ?? false
        case .tls, .http, .aborted, .invalidRequest, .internal: false
        }
    }

    /// An answer that ended too soon or came garbled: the next attempt may get a whole one.
    static let transientAnswerCodes: Set<Int> = Set(
        [
            CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM,
            CURLE_HTTP3, CURLE_QUIC_CONNECT_ERROR, CURLE_UPLOAD_FAILED,
        ].map { Int($0.rawValue) })

    /// The wait before retry number `retry` (1 for the first): the doubling delay, jittered, or
    /// the server's `Retry-After` when that is longer (cut to `maximumRetryAfter`).
    public func delay(beforeRetry retry: Int, retryAfter: Duration?, random: Double) -> Duration {
        let base = min(firstDelay * (1 << min(retry - 1, 30)), maximumDelay)
        let delay = jitter ? base * (0.5 + random / 2) : base
        return max(delay, min(retryAfter ?? .zero, maximumRetryAfter))
    }

    /// What one attempt came to.
    public enum Step<Failure> {
        case succeeded
        case failed(Failure)
        case retryable(Failure, retryAfter: Duration?)
    }

    /// How the attempts ended.
    public enum Outcome<Failure> {
        case succeeded
        /// A final failure, on attempt `attempts`.
        case failed(Failure, attempts: Int)
        /// Still failing when the attempts or the time ran out; `retryAfter` is what the server
        /// last asked for.
        case exhausted(Failure, attempts: Int, retryAfter: Duration?)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the attempts or the time before
    /// `deadline` run out (a retry whose wait would end past the deadline is not made).
    /// `willRetry` hears of each retry before its wait.
    public func run<Failure>(
        until deadline: ContinuousClock.Instant? = nil, sleep: (Duration) -> Void = sleepPrecisely,
        random: () -> Double = { Double.random(in: 0..<1) },
        willRetry: (_ failure: Failure, _ nextAttempt: Int, _ delay: Duration) -> Void = { _, _, _ in },
        _ attempt: () -> Step<Failure>
    ) -> Outcome<Failure> {
        var attempts = 0
        while true {
            attempts += 1
            switch attempt() {
            case .succeeded:
                return .succeeded
            case .failed(let failure):
                return .failed(failure, attempts: attempts)
            case .retryable(let failure, let retryAfter):
                if let maximumAttempts, attempts >= maximumAttempts {
                    return .exhausted(failure, attempts: attempts, retryAfter: retryAfter)
                }
                let wait = delay(beforeRetry: attempts, retryAfter: retryAfter, random: random())
                if let deadline, ContinuousClock.now + wait >= deadline {
                    return .exhausted(failure, attempts: attempts, retryAfter: retryAfter)
                }
                willRetry(failure, attempts + 1, wait)
                sleep(wait)
            }
        }
    }
}
