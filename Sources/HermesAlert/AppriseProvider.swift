import HermesCore
import HermesHTTP

/// An Apprise API server: `POST <url>/notify/<key>` (stateful, the URL names the key) or
/// `POST <url>/notify` with the service URLs in the body (stateless). JSON either way.
public struct AppriseProvider: ProviderDefinition {
    public static let name = "apprise"
    public static let displayName = "Apprise"

    public static let urlOption = ProviderOption(
        "apprise-url", valueName: "url",
        help:
            "Send to the Apprise API at <url>: .../notify/KEY, or a base URL for stateless mode ($ALERT_APPRISE_URL).",
        variables: ["HERMES_ALERT_APPRISE_URL", "ALERT_APPRISE_URL"])
    /// Service URLs hold credentials, so no flag takes one as its value and no variable holds them.
    public static let serviceURLsFileOption = ProviderOption(
        "apprise-urls-file", .secretFile(credential: "apprise-urls"), valueName: "path",
        help:
            "Read Apprise service URLs for stateless mode from <path>, one a line, # for comments (default: the apprise-urls credential)."
    )
    public static let options = [urlOption, serviceURLsFileOption]
    public static let enablingOption = urlOption

    /// Service URLs without a server to send them to are a mistake, not an unused provider.
    public static func configured(by settings: ProviderSettings) throws(ConfigurationError) -> AppriseProvider? {
        guard let url = settings.text(urlOption) else {
            if settings.isGiven(serviceURLsFileOption) {
                throw ConfigurationError("Apprise service URLs need an Apprise API server: --apprise-url")
            }
            return nil
        }
        return AppriseProvider(url: url, serviceURLs: try listedServiceURLs(settings))
    }

    /// The `--apprise-urls-file` lines, else the `apprise-urls` credential's; never a flag value,
    /// since they hold credentials, and no message shows one.
    static func listedServiceURLs(_ settings: ProviderSettings) throws(ConfigurationError) -> [String] {
        guard let listed = try settings.secretLines(serviceURLsFileOption) else { return [] }
        for (index, url) in listed.lines.enumerated() where !url.contains("://") || url.contains(" ") {
            throw ConfigurationError(
                "\(listed.origin): entry \(index + 1) is not an Apprise URL such as mailto://user:password@example.com")
        }
        return listed.lines
    }

    public let url: String
    /// Apprise service URLs (`gotifys://…`, `mailto://…`) for stateless mode; they hold
    /// credentials, so they are never shown.
    public let serviceURLs: [String]

    public init(url: String, serviceURLs: [String] = []) {
        self.url = url
        self.serviceURLs = serviceURLs
    }

    /// The URL as given when its path already has a `notify` segment, else `<url>/notify`.
    /// Only the path is checked: the Python Hermes's substring test took
    /// `https://notify.example.com` for an endpoint.
    public var endpoint: String {
        var trimmed = Substring(url)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        let redacted = ParsedURL.redact(String(trimmed))
        let path: Substring
        if let schemeEnd = redacted.firstRange(of: "://") {
            let afterScheme = redacted[schemeEnd.upperBound...]
            path = afterScheme.drop { $0 != "/" }
        } else {
            path = ""
        }
        if path.split(separator: "/").contains("notify") { return String(trimmed) }
        return Self.join(String(trimmed), "notify")
    }

    public func request(for notification: AlertNotification) -> HTTPRequest {
        let type =
            switch notification.event {
            case .failure: "failure"
            case .threshold: "warning"
            case .recovery: "success"
            case .test, .digest: "info"
            }
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("title", notification.title)
        writer.field("body", "\(notification.message)\n\nTime: \(notification.displayTime)")
        writer.field("type", type)
        if notification.isMarkdown { writer.field("format", "markdown") }
        if !serviceURLs.isEmpty { writer.field("urls", .array(serviceURLs.map { .string($0) })) }
        writer.endObject()
        var request = HTTPRequest(
            url: endpoint, method: .post, headers: ["Content-Type": "application/json"], body: .bytes(writer.bytes))
        // A stateful key is a capability much like an ntfy topic.
        request.displayURL = Self.hostOnly(endpoint)
        return request
    }

    /// The Apprise API answers 204 when it has nothing to send with (no configuration for the
    /// key, no service URL): nothing was sent.
    public func undelivered(_ response: HTTPResponse) -> String? {
        guard response.status == 204 else { return nil }
        let missing = serviceURLs.isEmpty ? "no configuration for this key" : "no service to send to"
        return "\(response.displayURL) answered HTTP 204: the Apprise API has \(missing), so nothing was sent"
    }
}
