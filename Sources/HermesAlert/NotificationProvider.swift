import HermesHTTP

/// A service that delivers notifications. One file per implementation; adding a provider means
/// adding a file and its configuration, nothing else.
public protocol NotificationProvider: Sendable {
    /// Short lower-case name for messages: `webhook`, `gotify`, `ntfy`, `apprise`.
    var name: String { get }

    /// The request that delivers `notification`: URL, method, headers, body and `displayURL`.
    /// Timeouts, address pinning and the redirect policy are `Delivery`'s business.
    func request(for notification: AlertNotification) -> HTTPRequest

    /// Why a 2xx answer still means nothing was sent; nil when it was delivered.
    func undelivered(_ response: HTTPResponse) -> String?
}

extension NotificationProvider {
    public func undelivered(_ response: HTTPResponse) -> String? { nil }

    /// `scheme://host[:port]/…`: for URLs whose path is itself a secret (webhook paths, ntfy
    /// topics), shown instead of the URL in every message.
    static func hostOnly(_ url: String) -> String {
        let redacted = ParsedURL.redact(url)
        guard let schemeEnd = redacted.firstRange(of: "://") else { return redacted }
        let afterScheme = redacted[schemeEnd.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" }
        return "\(redacted[..<schemeEnd.upperBound])\(authority)/…"
    }

    /// `base` without trailing slashes, then `/` and `path`.
    static func join(_ base: String, _ path: String) -> String {
        var trimmed = Substring(base)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return "\(trimmed)/\(path)"
    }
}
