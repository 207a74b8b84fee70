import HermesCore
import HermesHTTP

/// Pushes batches to Loki's JSON push API with a gzip body. 2xx is success; what the shared
/// `RetryPolicy` calls transient (408, 429, 5xx, network errors) is retried with exponential
/// backoff and jitter, as Grafana's own client does; any other answer is final and its message is
/// shown.
public final class LokiClient {
    public let configuration: LokiConfiguration
    private let diagnostics: Diagnostics
    private var transfer: EasyTransfer?
    /// Replaceable so tests can record the delays instead of waiting them out.
    public var sleep: (Duration) -> Void = { sleepPrecisely($0) }
    public var random: () -> Double = { Double.random(in: 0..<1) }

    public init(configuration: LokiConfiguration, diagnostics: Diagnostics) {
        self.configuration = configuration
        self.diagnostics = diagnostics
    }

    /// The request for one batch: everything but the body is the same every time.
    func request(body: [UInt8]) -> HTTPRequest {
        var headers: HTTPHeaders = ["Content-Type": "application/json", "Content-Encoding": "gzip"]
        if let tenant = configuration.tenant { headers.add(name: "X-Scope-OrgID", value: tenant) }
        if let authorization = configuration.authorization { headers.add(name: "Authorization", value: authorization) }
        var request = HTTPRequest(
            url: configuration.pushURL, method: .post, headers: headers, body: .bytes(body),
            responseBody: .collect(limit: 64 * 1024), timeouts: configuration.timeouts)
        request.userAgent = "hermes-export/\(HermesVersion.current)"
        return request
    }

    /// Sends `batch`, retrying what is worth retrying.
    public func push(_ batch: LokiBatch) throws(ExportError) {
        let body: [UInt8]
        do { body = try Gzip.compress(batch.json()) } catch {
            throw .cannotPush(message: "cannot compress the Loki request: \(error)")
        }
        let request = request(body: body)
        let outcome = configuration.retryPolicy.run(
            sleep: sleep, random: random,
            willRetry: { (error: ExportError, attempt, delay) in
                diagnostics.report(
                    "\(error); retrying in \(Self.seconds(delay)) s (attempt \(attempt) of \(configuration.maximumRetries + 1))"
                )
            },
            { send(request) })
        switch outcome {
        case .succeeded: return
        case .failed(let error, _): throw error
        case .exhausted(let error, let attempts, _):
            throw .unreachable(
                message: "\(error); gave up after \(attempts) attempt(s), \(batch.recordCount) record(s) not pushed")
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
            let message = "Loki push: \(error.message)"
            if RetryPolicy.isRetryable(error) { return .retryable(.unreachable(message: message), retryAfter: nil) }
            return .failed(.cannotPush(message: message))
        }
        if response.isSuccess { return .succeeded }
        let message = "Loki at \(response.displayURL) answered HTTP \(response.status)\(Self.serverMessage(response))"
        if RetryPolicy.isRetryable(status: response.status) {
            return .retryable(.unreachable(message: message), retryAfter: response.retryAfter())
        }
        if (300..<400).contains(response.status) {
            let location = response.headers["Location"].map { " (to \(ParsedURLText.redact($0)))" } ?? ""
            return .failed(.cannotPush(message: "\(message)\(location); give the final push URL"))
        }
        return .failed(.refused(message: message, status: response.status))
    }

    /// Loki's error bodies are plain text: the first 500 characters, on one line.
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
