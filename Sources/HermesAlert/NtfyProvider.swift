import HermesCore
import HermesHTTP

/// `POST <url>/<topic>` with the message as plain text and Title, Priority and Tags headers; an
/// access token goes in `Authorization: Bearer`. The topic is as good as a password, so messages
/// show only the server.
public struct NtfyProvider: ProviderDefinition {
    public static let name = "ntfy"
    public static let displayName = "ntfy"

    public static let urlOption = ProviderOption(
        "ntfy-url", valueName: "url", help: "The ntfy server (default https://ntfy.sh; $ALERT_NTFY_URL).",
        variables: ["HERMES_ALERT_NTFY_URL", "ALERT_NTFY_URL"])
    public static let topicOption = ProviderOption(
        "ntfy-topic", valueName: "topic", help: "Publish to the ntfy <topic> ($ALERT_NTFY_TOPIC).",
        variables: ["HERMES_ALERT_NTFY_TOPIC", "ALERT_NTFY_TOPIC"])
    public static let tokenFileOption = ProviderOption(
        "ntfy-token-file", .secretFile(credential: "ntfy-token"), valueName: "path",
        help: "Read an ntfy access token from <path>.", variables: ["HERMES_ALERT_NTFY_TOKEN", "ALERT_NTFY_TOKEN"])
    public static let priorityOption = ProviderOption(
        "ntfy-priority", .integer, valueName: "n", help: "ntfy priority, 1 to 5 (default 3).",
        variables: ["HERMES_ALERT_NTFY_PRIORITY", "ALERT_NTFY_PRIORITY"])
    public static let tagsOption = ProviderOption(
        "ntfy-tags", .list, valueName: "tags", help: "Comma-separated ntfy tags (default warning,rotating_light).",
        variables: ["HERMES_ALERT_NTFY_TAGS", "ALERT_NTFY_TAGS"])
    public static let options = [urlOption, topicOption, tokenFileOption, priorityOption, tagsOption]
    /// The topic, not the URL, which has a default.
    public static let enablingOption = topicOption

    public static func configured(by settings: ProviderSettings) throws(ConfigurationError) -> NtfyProvider? {
        guard let topic = settings.text(topicOption) else { return nil }
        let token = try settings.secret(tokenFileOption)
        let priority = try settings.integer(priorityOption, default: defaultPriority)
        let tags =
            settings.text(tagsOption).map { text in
                text.split(separator: ",").map { String($0).trimming(" ") }.filter { !$0.isEmpty }
            } ?? defaultTags
        return NtfyProvider(
            url: settings.text(urlOption) ?? defaultURL, topic: topic, token: token, priority: priority, tags: tags)
    }

    public let url: String
    public let topic: String
    private let token: String?
    /// 1 (min) to 5 (max).
    public let priority: Int
    public let tags: [String]

    public static let defaultURL = "https://ntfy.sh"
    public static let defaultPriority = 3
    public static let defaultTags = ["warning", "rotating_light"]

    public init(
        url: String = NtfyProvider.defaultURL, topic: String, token: String?,
        priority: Int = NtfyProvider.defaultPriority, tags: [String] = NtfyProvider.defaultTags
    ) {
        self.url = url
        self.topic = topic.trimming(" /")
        self.token = token
        self.priority = min(5, max(1, priority))
        self.tags = tags
    }

    public func request(for notification: AlertNotification) -> HTTPRequest {
        var headers: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8", "Title": notification.title]
        headers.add(name: "Priority", value: String(notification.isQuiet ? min(priority, 3) : priority))
        let eventTags =
            switch notification.event {
            case .recovery: ["white_check_mark"]
            case .digest: ["bar_chart"]
            case .failure, .threshold, .test: tags
            }
        if !eventTags.isEmpty { headers.add(name: "Tags", value: eventTags.joined(separator: ",")) }
        if notification.isMarkdown { headers.add(name: "Markdown", value: "yes") }
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        let target = Self.join(url, topic)
        var request = HTTPRequest(
            url: target, method: .post, headers: headers,
            body: .bytes(Array("\(notification.message)\n\nTime: \(notification.displayTime)".utf8)))
        request.displayURL = Self.hostOnly(target)
        return request
    }
}
