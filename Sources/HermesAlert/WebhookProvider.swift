import HermesCore
import HermesHTTP

/// POSTs JSON: the Python Hermes fields (`type`, `consecutive_failures`, `error`, `timestamp`)
/// so old receivers keep working, plus `event`, `rule`, `title`, `message` and the record.
public struct WebhookProvider: ProviderDefinition {
    public static let name = "webhook"
    public static let displayName = "webhook"

    public static let urlOption = ProviderOption(
        "webhook-url", valueName: "url", help: "POST JSON to <url> ($ALERT_WEBHOOK_URL).",
        variables: ["HERMES_ALERT_WEBHOOK_URL", "ALERT_WEBHOOK_URL"])
    public static let options = [urlOption]
    public static let enablingOption = urlOption

    public static func configured(by settings: ProviderSettings) throws(ConfigurationError) -> WebhookProvider? {
        guard let url = settings.text(urlOption) else { return nil }
        return WebhookProvider(url: url)
    }

    public let url: String

    public init(url: String) {
        // The Python Hermes stripped a trailing slash; receivers configured for it expect that.
        var trimmed = Substring(url)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        self.url = String(trimmed)
    }

    public func request(for notification: AlertNotification) -> HTTPRequest {
        var request = HTTPRequest(
            url: url, method: .post, headers: ["Content-Type": "application/json"],
            body: .bytes(Self.payload(notification)))
        request.displayURL = Self.hostOnly(url)
        return request
    }

    static func payload(_ notification: AlertNotification) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        let type =
            switch notification.event {
            case .failure, .test: "speedtest_failure"
            case .recovery: "speedtest_recovery"
            case .threshold: "speedtest_threshold"
            case .digest: "speedtest_digest"
            }
        writer.field("type", type)
        writer.field("consecutive_failures", Int64(notification.rule == .failure ? notification.consecutive : 0))
        writer.field("error", notification.error)
        writer.field("timestamp", notification.timestamp.rfc3339)
        writer.field("event", notification.event.rawValue)
        // A digest answers to no rule.
        writer.field("rule", notification.event == .digest ? nil : notification.rule.rawValue)
        writer.field("title", notification.title)
        writer.field("message", notification.message)
        writer.field("repeat", .bool(notification.isRepeat))
        writer.key("record")
        if let record = notification.record {
            RecordEncoder.append(record, to: &writer)
        } else {
            writer.append(.null)
        }
        writer.endObject()
        return writer.bytes
    }
}
