import HermesCore
import HermesHTTP

/// How notifications are sent.
public struct DeliveryOptions: Sendable {
    /// Each provider's whole budget, retries included: the run ends within this plus a margin.
    public var timeout: Duration
    public var targetGuard: TargetGuard
    /// The first retry's wait when the server gives no `Retry-After`; doubled for each retry.
    public var firstRetryDelay: Duration

    public init(timeout: Duration, targetGuard: TargetGuard, firstRetryDelay: Duration = .milliseconds(250)) {
        self.timeout = timeout
        self.targetGuard = targetGuard
        self.firstRetryDelay = firstRetryDelay
    }

    /// Retries while the provider's budget lasts: a short doubling delay that stops growing at a
    /// second (a notification is worth more attempts than a slow start), no jitter (one sender),
    /// and a server's `Retry-After` honoured when it fits in the budget.
    var retryPolicy: RetryPolicy {
        RetryPolicy(
            firstDelay: firstRetryDelay, maximumDelay: .seconds(1), jitter: false, maximumRetryAfter: .seconds(86_400))
    }
}

/// What happened to one provider's notifications.
public struct ProviderReport: Sendable, Equatable {
    public var provider: String
    /// One entry per notification, in order; nil for one not meant for this provider.
    public var delivered: [Bool?]
    /// Why deliveries failed, one sentence each.
    public var failures: [String]

    public var deliveredAll: Bool { !delivered.contains(false) }
    public var deliveredAny: Bool { delivered.contains(true) }
}

/// Sends through every provider at once, each on its own thread: a provider that hangs (in the
/// resolver as much as on the wire) delays no other, and its retries wait on nobody. Every
/// request is checked by the SSRF guard just before it is sent and pinned to the checked
/// address; redirects are never followed.
public enum Delivery {
    /// How long after the timeout the run stops waiting for a provider's thread (one stuck in
    /// `getaddrinfo`, which has no timeout of its own).
    static let margin: Duration = .seconds(1)

    public static func send(
        _ notifications: [AlertNotification], through providers: [any NotificationProvider], options: DeliveryOptions
    ) -> [ProviderReport] {
        guard !notifications.isEmpty else {
            return providers.map { ProviderReport(provider: $0.name, delivered: [], failures: []) }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + options.timeout
        let finished = BoundedQueue<(Int, ProviderReport)>(capacity: max(1, providers.count))
        var reports: [ProviderReport?] = Array(repeating: nil, count: providers.count)
        for (index, provider) in providers.enumerated() {
            let thread = BackgroundThread {
                finished.push((index, deliverAll(notifications, through: provider, options: options, until: deadline)))
            }
            if let thread {
                thread.detach()
            } else {
                reports[index] = ProviderReport(
                    provider: provider.name, delivered: notifications.map { $0.isFor(provider.name) ? false : nil },
                    failures: ["no thread available to send through \(provider.name)"])
            }
        }
        while reports.contains(where: { $0 == nil }) {
            let left = deadline + margin - clock.now
            guard left > .zero, let (index, report) = finished.pop(timeout: left) else { break }
            reports[index] = report
        }
        finished.close()
        return reports.enumerated().map { index, report in
            report
                ?? ProviderReport(
                    provider: providers[index].name,
                    delivered: notifications.map { $0.isFor(providers[index].name) ? false : nil },
                    failures: ["\(providers[index].name) did not finish within the timeout"])
        }
    }

    static func deliverAll(
        _ notifications: [AlertNotification], through provider: any NotificationProvider, options: DeliveryOptions,
        until deadline: ContinuousClock.Instant
    ) -> ProviderReport {
        var report = ProviderReport(provider: provider.name, delivered: [], failures: [])
        for notification in notifications {
            guard notification.isFor(provider.name) else {
                report.delivered.append(nil)
                continue
            }
            switch deliver(
                provider.request(for: notification), options: options, until: deadline,
                undelivered: provider.undelivered)
            {
            case .success:
                report.delivered.append(true)
            case .failure(let reason):
                report.delivered.append(false)
                report.failures.append(reason.message)
            }
        }
        return report
    }

    struct Failure: Error {
        var message: String
    }

    /// One notification through one provider, retrying transient failures while time is left.
    static func deliver(
        _ template: HTTPRequest, options: DeliveryOptions, until deadline: ContinuousClock.Instant,
        undelivered: (HTTPResponse) -> String? = { _ in nil }
    ) -> Result<Void, Failure> {
        // Checked again before every attempt: a name may resolve elsewhere by then. A refusal
        // is the guard's verdict, not a failed attempt, and says so without an attempt count.
        var refusal: String?
        let outcome = options.retryPolicy.run(until: deadline) { () -> RetryPolicy.Step<String> in
            let target: TargetGuard.Target
            switch options.targetGuard.check(url: template.url, displayURL: template.displayURL) {
            case .success(let checked): target = checked
            case .failure(let refused):
                refusal = refused.message
                return .failed(refused.message)
            }
            switch attempt(template, addresses: target.addresses, until: deadline, undelivered: undelivered) {
            case .delivered: return .succeeded
            case .failed(let message): return .failed(message)
            case .transient(let message, let retryAfter): return .retryable(message, retryAfter: retryAfter)
            }
        }
        switch outcome {
        case .succeeded:
            return .success(())
        case .failed(let message, let attempts):
            if let refusal { return .failure(Failure(message: refusal)) }
            return .failure(Failure(message: attempts > 1 ? "\(message) (attempt \(attempts))" : message))
        case .exhausted(let message, let attempts, let retryAfter):
            let note = retryAfter.map { " (the server asked to wait \($0.components.seconds) s)" } ?? ""
            let tries = attempts > 1 ? " after \(attempts) attempts" : ""
            return .failure(Failure(message: "\(message); no time left to retry within the timeout\(tries)\(note)"))
        }
    }

    enum Attempt {
        case delivered
        case failed(String)
        case transient(String, retryAfter: Duration?)
    }

    private static func attempt(
        _ template: HTTPRequest, addresses: [String], until deadline: ContinuousClock.Instant,
        undelivered: (HTTPResponse) -> String?
    ) -> Attempt {
        var lastError: HTTPError?
        for address in addresses {
            let left = deadline - ContinuousClock().now
            guard left > .zero else { break }
            var request = template
            request.pinnedAddress = address
            request.redirects = .doNotFollow
            request.timeouts = HTTPTimeouts(connect: left, total: left)
            request.responseBody = .collect(limit: 64 * 1024)
            do throws(HTTPError) {
                let response = try HTTPClient.perform(request)
                if response.isSuccess, let reason = undelivered(response) { return .failed(reason) }
                return classify(response)
            } catch {
                lastError = error
                // A refused or unreachable address: the host's next address may answer.
                if error.kind == .connect { continue }
                break
            }
        }
        guard let lastError else { return .failed("request to \(template.displayURL) timed out") }
        // RetryPolicy says which failures may pass (a server restarting, an idle connection
        // closed under the request).
        if RetryPolicy.isRetryable(lastError) { return .transient(lastError.message, retryAfter: nil) }
        return .failed(lastError.message)
    }

    static func classify(_ response: HTTPResponse) -> Attempt {
        let status = response.status
        if response.isSuccess { return .delivered }
        var message = "\(response.displayURL) answered HTTP \(status)"
        if (300..<400).contains(status) { return .failed(message + "; redirects are not followed") }
        let detail = bodySnippet(response.body)
        if !detail.isEmpty { message += ": \(detail)" }
        if RetryPolicy.isRetryable(status: status) { return .transient(message, retryAfter: response.retryAfter()) }
        return .failed(message)
    }

    /// The start of an error body on one line, printable ASCII only, so a server's explanation
    /// reaches the user without control characters reaching their terminal.
    static func bodySnippet(_ body: [UInt8]) -> String {
        var text = ""
        for byte in body.prefix(200) {
            switch byte {
            case 0x20...0x7E: text.append(Character(Unicode.Scalar(byte)))
            case 0x09, 0x0A, 0x0D: text.append(" ")
            default: text.append("?")
            }
        }
        return text.trimming(" ")
    }
}
