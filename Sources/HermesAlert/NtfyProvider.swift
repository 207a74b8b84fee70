import HermesHTTP

/// `POST <url>/<topic>` with the message as plain text and Title, Priority and Tags headers; an
/// access token goes in `Authorization: Bearer`. The topic is as good as a password, so messages
/// show only the server.
public struct NtfyProvider: NotificationProvider {
    public let name = "ntfy"
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
        headers.add(name: "Priority", value: String(notification.event == .recovery ? min(priority, 3) : priority))
        let eventTags = notification.event == .recovery ? ["white_check_mark"] : tags
        if !eventTags.isEmpty { headers.add(name: "Tags", value: eventTags.joined(separator: ",")) }
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        let target = Self.join(url, topic)
        var request = HTTPRequest(
            url: target, method: .post, headers: headers,
            body: .bytes(Array("\(notification.message)\n\nTime: \(notification.displayTime)".utf8)))
        request.displayURL = Self.hostOnly(target)
        return request
    }
}
