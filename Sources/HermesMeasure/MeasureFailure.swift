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
        let retryAfter = response.headers["Retry-After"].flatMap(RetryAfter.parse)
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

/// The `Retry-After` header: delay-seconds or an HTTP date.
enum RetryAfter {
    static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimming()
        if let seconds = Int64(trimmed), seconds >= 0 { return .seconds(seconds) }
        guard let date = HTTPDate.parse(trimmed) else { return nil }
        let now = Timestamp.now()
        return .milliseconds(max(0, date.millisecondsSinceEpoch - now.millisecondsSinceEpoch))
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only date form RFC 9110 lets senders use.
enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ text: String) -> Timestamp? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]),
            let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2])
        else { return nil }
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let text =
            "\(padded(year, 4))-\(padded(month + 1, 2))-\(padded(day, 2))T"
            + "\(padded(hour, 2)):\(padded(minute, 2)):\(padded(second, 2))Z"
        return try? Timestamp(rfc3339: text)
    }
}
