import HermesCore

/// One message to deliver through every provider.
public struct AlertNotification: Equatable, Sendable {
    public enum Event: String, Sendable {
        case failure
        case recovery
        case threshold
        case test
        /// A message a person wrote or `hermes-report` made (`hermes-alert send`), not an alert.
        case digest
    }

    public var event: Event
    public var rule: AlertRule
    /// Consecutive failures or breaching results when it was decided (0 for recovery and test).
    public var consecutive: Int
    /// The failure's error, or what was breached; nil for recovery and test.
    public var error: String?
    /// The record that caused it; nil for a test notification.
    public var record: Record?
    /// The record's time, or the clock's for a test.
    public var timestamp: Timestamp
    public var title: String
    public var message: String
    /// A repeat of a firing alert after the cooldown.
    public var isRepeat: Bool
    /// The names of the providers it goes to; `AlertState.everyProvider` for all.
    public var providers: [String]
    /// The series (probe, link, server) whose state decided it; `SeriesKey.unkeyed` for a test
    /// or digest.
    public var series = SeriesKey.unkeyed
    /// The message is Markdown (`hermes-alert send --format markdown`): providers that can render
    /// it are told so.
    public var isMarkdown = false

    /// Good news and digests arrive without sound or vibration.
    public var isQuiet: Bool { event == .recovery || event == .digest }

    public init(
        event: Event, rule: AlertRule, consecutive: Int, error: String?, record: Record?, timestamp: Timestamp,
        title: String, message: String, isRepeat: Bool = false, providers: [String] = [AlertState.everyProvider]
    ) {
        self.providers = providers
        self.event = event
        self.rule = rule
        self.consecutive = consecutive
        self.error = error
        self.record = record
        self.timestamp = timestamp
        self.title = title
        self.message = message
        self.isRepeat = isRepeat
    }

    /// `YYYY-MM-DD HH:MM:SS UTC`, the Python Hermes's message time with its zone made explicit.
    public var displayTime: String {
        let text = timestamp.rfc3339
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8)) + " UTC"
    }

    /// Whether the provider named `name` is to be sent this notification.
    public func isFor(_ name: String) -> Bool {
        providers.contains(name) || providers.contains(AlertState.everyProvider)
    }

    /// What `hermes-alert send` sends: `message` as it was given, under `title`.
    public static func digest(title: String, message: String, markdown: Bool, at timestamp: Timestamp)
        -> AlertNotification
    {
        var notification = AlertNotification(
            event: .digest, rule: .failure, consecutive: 0, error: nil, record: nil, timestamp: timestamp,
            title: title, message: message)
        notification.isMarkdown = markdown
        return notification
    }

    /// The notification `hermes-alert test` sends.
    public static func test(at timestamp: Timestamp) -> AlertNotification {
        AlertNotification(
            event: .test, rule: .failure, consecutive: 0, error: "This is a test notification from Hermes",
            record: nil, timestamp: timestamp, title: "Hermes test notification",
            message: "This is a test notification from Hermes.")
    }
}

extension AlertNotification {
    /// This notification with its path named: the link (or the server, when the key has no link)
    /// in the title, and the whole key in the message, for a host that measures several paths.
    func naming(its key: SeriesKey) -> AlertNotification {
        guard key != .unkeyed else { return self }
        var named = self
        let short = key.link.isEmpty ? key.server : key.link
        if !short.isEmpty { named.title += " on \(short)" }
        named.message += " (\(key.phrase()))"
        return named
    }
}
