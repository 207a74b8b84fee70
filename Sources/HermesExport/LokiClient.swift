import HermesCore
import HermesHTTP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Pushes batches to Loki's JSON push API with a gzip body. 2xx is success; 408, 429, 5xx and
/// network errors are retried with exponential backoff and jitter, as Grafana's own client does; any
/// other answer is final and its message is shown.
public final class LokiClient {
    public let configuration: LokiConfiguration
    private let diagnostics: Diagnostics
    private var transfer: EasyTransfer?
    /// Replaceable so tests can record the delays instead of waiting them out.
    public var sleep: (Duration) -> Void = { LokiClient.pause($0) }
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
        let attempts = configuration.maximumRetries + 1
        for attempt in 1...attempts {
            let outcome = send(request)
            switch outcome {
            case .delivered: return
            case .final(let error): throw error
            case .retryable(let message, let retryAfter):
                guard attempt < attempts else {
                    throw .unreachable(
                        message:
                            "\(message); gave up after \(attempts) attempt(s), \(batch.recordCount) record(s) not pushed"
                    )
                }
                let delay = backoff(afterAttempt: attempt, retryAfter: retryAfter)
                diagnostics.report(
                    "\(message); retrying in \(Self.seconds(delay)) s (attempt \(attempt + 1) of \(attempts))")
                sleep(delay)
            }
        }
    }

    enum Outcome {
        case delivered
        case retryable(String, retryAfter: Duration?)
        case final(ExportError)
    }

    private func send(_ request: HTTPRequest) -> Outcome {
        let response: HTTPResponse
        do throws(HTTPError) {
            if transfer == nil { transfer = try EasyTransfer() }
            guard let transfer else { return .final(.cannotPush(message: "cannot start libcurl")) }
            response = try transfer.perform(request)
        } catch {
            // A broken kept-alive connection must not poison the next attempt.
            transfer = nil
            switch error.kind {
            case .dns, .connect, .timeout, .protocol: return .retryable("Loki push: \(error.message)", retryAfter: nil)
            default: return .final(.cannotPush(message: "Loki push: \(error.message)"))
            }
        }
        if response.isSuccess { return .delivered }
        let message = "Loki at \(response.displayURL) answered HTTP \(response.status)\(Self.serverMessage(response))"
        if [408, 429].contains(response.status) || (500..<600).contains(response.status) {
            return .retryable(message, retryAfter: response.retryAfter())
        }
        if (300..<400).contains(response.status) {
            let location = response.headers["Location"].map { " (to \(ParsedURLText.redact($0)))" } ?? ""
            return .final(.cannotPush(message: "\(message)\(location); give the final push URL"))
        }
        return .final(.refused(message: message, status: response.status))
    }

    /// Exponential from `minimumBackoff`, capped, with full jitter in its upper half so that
    /// probes that failed together do not retry together; a server's `Retry-After` is honoured
    /// up to the cap.
    func backoff(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        let exponent = min(attempt - 1, 30)
        let base = min(configuration.minimumBackoff * (1 << exponent), configuration.maximumBackoff)
        var delay = base * (0.5 + random() / 2)
        if let retryAfter, retryAfter > delay { delay = retryAfter }
        return min(delay, configuration.maximumBackoff)
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

    static func pause(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
    }
}

/// A redirect target as it may appear in a message: no user info or query.
enum ParsedURLText {
    static func redact(_ url: String) -> String {
        HTTPRequest(url: url).displayURL
    }
}
