import HermesCore
import HermesHTTP

/// `POST <url>/message` with the application token in `X-Gotify-Key`, never in the query string
/// where proxies log it (the Python Hermes put it there).
public struct GotifyProvider: ProviderDefinition {
    public static let name = "gotify"
    public static let displayName = "Gotify"

    public static let urlOption = ProviderOption(
        "gotify-url", valueName: "url", help: "Send to the Gotify server at <url> ($ALERT_GOTIFY_URL).",
        variables: ["HERMES_ALERT_GOTIFY_URL", "ALERT_GOTIFY_URL"])
    public static let tokenFileOption = ProviderOption(
        "gotify-token-file", .secretFile(credential: "gotify-token"), valueName: "path",
        help: "Read the Gotify application token from <path>.",
        variables: ["HERMES_ALERT_GOTIFY_TOKEN", "ALERT_GOTIFY_TOKEN"])
    public static let priorityOption = ProviderOption(
        "gotify-priority", .integer, valueName: "n", help: "Gotify priority, 0 to 10 (default 5).",
        variables: ["HERMES_ALERT_GOTIFY_PRIORITY", "ALERT_GOTIFY_PRIORITY"])
    public static let options = [urlOption, tokenFileOption, priorityOption]
    public static let enablingOption = urlOption

    /// A URL needs a token.
    public static func configured(by settings: ProviderSettings) throws(ConfigurationError) -> GotifyProvider? {
        guard let url = settings.text(urlOption) else { return nil }
        guard let token = try settings.secret(tokenFileOption) else {
            throw ConfigurationError(
                "Gotify needs an application token: --gotify-token-file, $CREDENTIALS_DIRECTORY/gotify-token or ALERT_GOTIFY_TOKEN"
            )
        }
        let priority = try settings.integer(priorityOption, default: defaultPriority)
        return GotifyProvider(url: url, token: token, priority: priority)
    }

    public let url: String
    private let token: String
    /// 0–10; Android notifies with sound from 4 and vibrates from 8.
    public let priority: Int

    public static let defaultPriority = 5

    public init(url: String, token: String, priority: Int = GotifyProvider.defaultPriority) {
        self.url = url
        self.token = token
        self.priority = min(10, max(0, priority))
    }

    public func request(for notification: AlertNotification) -> HTTPRequest {
        HTTPRequest(
            url: Self.join(url, "message"), method: .post,
            headers: ["Content-Type": "application/json", "X-Gotify-Key": token],
            body: .bytes(payload(notification)))
    }

    func payload(_ notification: AlertNotification) -> [UInt8] {
        let extras = JSONObject([
            // Alerts are written in Markdown; a digest only when it says so (send --format markdown).
            JSONMember(
                key: "client::display",
                value: .object(
                    JSONObject([
                        "contentType": .string(
                            notification.event == .digest && !notification.isMarkdown ? "text/plain" : "text/markdown")
                    ]))),
            JSONMember(key: "hermes::event", value: .string(notification.event.rawValue)),
            JSONMember(key: "hermes::failure_count", value: .integer(Int64(notification.consecutive))),
        ])
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("title", notification.title)
        writer.field("message", "\(notification.message)\n\n**Time:** \(notification.displayTime)")
        // Good news and digests need no sound or vibration (Android: sound from 4), as with ntfy.
        writer.field("priority", Int64(notification.isQuiet ? min(priority, 3) : priority))
        writer.field("extras", .object(extras))
        writer.endObject()
        return writer.bytes
    }
}
