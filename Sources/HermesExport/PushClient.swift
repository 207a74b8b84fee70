import HermesCore
import HermesHTTP

/// One HTTP POST endpoint a push sink sends to (Loki, a remote-write receiver), with the shared
/// `RetryPolicy`: 2xx is success; 408, 429, 5xx and network errors are retried with backoff and
/// jitter, `Retry-After` honoured up to the cap; any other answer is final and its message shown.
public final class PushClient {
    /// How messages name the receiver: "Loki", "the remote-write receiver".
    public let receiverName: String
    public let url: String
    public let headers: HTTPHeaders
    public let timeouts: HTTPTimeouts
    public let retryPolicy: RetryPolicy
    private let diagnostics: Diagnostics
    private var transfer: EasyTransfer?
    /// Replaceable so tests can record the delays instead of waiting them out.
    public var sleep: (Duration) -> Void = { sleepPrecisely($0) }
    public var random: () -> Double = { Double.random(in: 0..<1) }
    /// Which answers are worth another try: the shared rule (408, 429, 5xx) unless the
    /// receiver's protocol says otherwise (remote write: 429 and 5xx only).
    public var isRetryableStatus: (Int) -> Bool = { RetryPolicy.isRetryable(status: $0) }

    public init(
        receiverName: String, url: String, headers: HTTPHeaders, timeouts: HTTPTimeouts, retryPolicy: RetryPolicy,
        diagnostics: Diagnostics
    ) {
        self.receiverName = receiverName
        self.url = url
        self.headers = headers
        self.timeouts = timeouts
        self.retryPolicy = retryPolicy
        self.diagnostics = diagnostics
    }

    /// The headers every push sends: the tenant and the authorization, when there are.
    public static func headers(_ base: HTTPHeaders, tenant: String?, authorization: String?) -> HTTPHeaders {
        var headers = base
        if let tenant { headers.add(name: "X-Scope-OrgID", value: tenant) }
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        return headers
    }

    func request(body: [UInt8]) -> HTTPRequest {
        var request = HTTPRequest(
            url: url, method: .post, headers: headers, body: .bytes(body),
            responseBody: .collect(limit: 64 * 1024), timeouts: timeouts)
        request.userAgent = "hermes-export/\(HermesVersion.current)"
        return request
    }

    /// Sends one body holding `recordCount` records, retrying what is worth retrying.
    public func push(body: [UInt8], recordCount: Int) throws(ExportError) {
        let request = request(body: body)
        let outcome = retryPolicy.run(
            sleep: sleep, random: random,
            willRetry: { (error: ExportError, attempt, delay) in
                diagnostics.report(
                    "\(error); retrying in \(Self.seconds(delay)) s (attempt \(attempt)\(retryPolicy.maximumAttempts.map { " of \($0)" } ?? ""))"
                )
            },
            { send(request) })
        switch outcome {
        case .succeeded: return
        case .failed(let error, _): throw error
        case .exhausted(let error, let attempts, _):
            throw .unreachable(
                message: "\(error); gave up after \(attempts) attempt(s) with \(recordCount) record(s)")
        }
    }

    private func send(_ request: HTTPRequest) -> RetryPolicy.Step<ExportError> {
        let response: HTTPResponse
        do throws(HTTPError) {
            if transfer == nil { transfer = try EasyTransfer() }
            guard let transfer else { return .failed(.cannotPush(message: "cannot start libcurl")) }
            response = try transfer.perform(request)
        } catch {
            // A broken kept-alive connection must not poison the next attempt.
            transfer = nil
            let message = "\(receiverName) push: \(error.message)"
            if RetryPolicy.isRetryable(error) { return .retryable(.unreachable(message: message), retryAfter: nil) }
            return .failed(.cannotPush(message: message))
        }
        if response.isSuccess { return .succeeded }
        let message =
            "\(receiverName) at \(response.displayURL) answered HTTP \(response.status)\(Self.serverMessage(response))"
        if isRetryableStatus(response.status) {
            return .retryable(.unreachable(message: message), retryAfter: response.retryAfter())
        }
        if (300..<400).contains(response.status) {
            let location = response.headers["Location"].map { " (to \(ParsedURLText.redact($0)))" } ?? ""
            return .failed(.cannotPush(message: "\(message)\(location); give the final push URL"))
        }
        return .failed(.refused(message: message, status: response.status))
    }

    /// Error bodies are plain text: the first 500 characters, on one line.
    static func serverMessage(_ response: HTTPResponse) -> String {
        let text = String(decoding: response.body.prefix(500), as: UTF8.self)
        let line = String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 }).trimming()
        return line.isEmpty ? "" : ": \(line)"
    }

    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return
            "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - String(milliseconds % 1000).count))\(milliseconds % 1000)"
    }
}

/// A redirect target as it may appear in a message: no user info or query.
enum ParsedURLText {
    static func redact(_ url: String) -> String {
        HTTPRequest(url: url).displayURL
    }
}
