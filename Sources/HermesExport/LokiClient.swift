import HermesCore
import HermesHTTP

/// Pushes batches to Loki's JSON push API with a gzip body, through a `PushClient` (the retries
/// are Grafana's own client's: exponential backoff with jitter on 429, 5xx and network errors).
public final class LokiClient {
    public let configuration: LokiConfiguration
    public let client: PushClient
    /// Replaceable so tests can record the delays instead of waiting them out.
    public var sleep: (Duration) -> Void {
        get { client.sleep }
        set { client.sleep = newValue }
    }
    public var random: () -> Double {
        get { client.random }
        set { client.random = newValue }
    }

    public init(configuration: LokiConfiguration, diagnostics: Diagnostics) {
        self.configuration = configuration
        client = PushClient(
            receiverName: "Loki", url: configuration.pushURL,
            headers: PushClient.headers(
                ["Content-Type": "application/json", "Content-Encoding": "gzip"], tenant: configuration.tenant,
                authorization: configuration.authorization),
            timeouts: configuration.timeouts, retryPolicy: configuration.retryPolicy, diagnostics: diagnostics)
    }

    /// The request for one batch: everything but the body is the same every time.
    func request(body: [UInt8]) -> HTTPRequest { client.request(body: body) }

    /// Sends `batch`, retrying what is worth retrying.
    public func push(_ batch: LokiBatch) throws(ExportError) {
        let body: [UInt8]
        do { body = try Gzip.compress(batch.json()) } catch {
            throw .cannotPush(message: "cannot compress the Loki request: \(error)")
        }
        try client.push(body: body, recordCount: batch.recordCount)
    }
}
