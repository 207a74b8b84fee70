import HermesCore
import HermesHTTP

/// Why a run produced a failure record instead of a result: the record's `error_kind` and its
/// one-sentence `error`, plus the server's Retry-After when it rate-limited us.
public struct MeasureFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public typealias Kind = MeasurementFailure.ErrorKind

    public let kind: Kind
    public let message: String
    public let retryAfter: Duration?

    public init(_ kind: Kind, _ message: String, retryAfter: Duration? = nil) {
        self.kind = kind
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { message }

    /// A failed request during `activity` ("the download from https://…"), with a hint the user
    /// can act on.
    static func request(_ error: HTTPError, during activity: String) -> MeasureFailure {
        // CURLE_INTERFACE_FAILED: --interface names no interface or address of this host.
        if error.curlCode == 45 {
            return MeasureFailure(
                .connect,
                "\(activity) failed: \(error.message); check --interface: it must name an interface of this "
                    + "host that is up, or one of its addresses (ip address shows them)")
        }
        let (kind, hint): (Kind, String) =
            switch error.kind {
            case .dns: (.dns, "check the server name and this host's DNS")
            case .connect: (.connect, "check that the server is up and reachable from this host")
            case .tls: (.tls, "check that the server speaks TLS on this port, its certificate, and this host's clock")
            case .timeout, .aborted: (.timeout, "the network or the server is too slow, or --timeout too short")
            case .http(429): (.rateLimited, "the service limits how often tests may run")
            case .http: (.http, "the server refused the request")
            case .protocol: (.protocol, "the server's answer was cut short or is not what a speed-test server sends")
            case .invalidRequest: (.internal, "check the server URL")
            case .internal: (.internal, "this looks like a problem of this host")
            }
        return MeasureFailure(kind, "\(activity) failed: \(error.message); \(hint)")
    }

    /// A response with a non-2xx status: 429 (and 503 with Retry-After) is a rate limit.
    static func status(_ response: HTTPResponse, during activity: String) -> MeasureFailure {
        let retryAfter = response.retryAfter()
        let detail = "\(activity) failed: \(response.displayURL) answered HTTP \(response.status)"
        if response.status == 429 || (response.status == 503 && retryAfter != nil) {
            return MeasureFailure(
                .rateLimited, "\(detail); the service limits how often tests may run", retryAfter: retryAfter)
        }
        let body =
            String(decoding: response.body.prefix(200), as: UTF8.self)
            .split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return MeasureFailure(.http, body.isEmpty ? detail : "\(detail): \(body)")
    }
}
