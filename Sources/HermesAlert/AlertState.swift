import HermesCore

/// What hermes-alert remembers between runs: one `AlertState` per series (probe, link, server),
/// so that one path's failures neither feed nor reset another's streak.
public struct AlertBook: Equatable, Sendable {
    /// 3 keeps a state per series key; 2 added per-provider deliveries, owed recoveries and the
    /// recovery count. Versions 1 and 2 are still read, as the state of `SeriesKey.unkeyed`
    /// (their one delivery time counts for every provider).
    public static let formatVersion: Int64 = 3
    public static let readableFormatVersions: ClosedRange<Int64> = 1...3

    public var series: [SeriesKey: AlertState]

    public init(series: [SeriesKey: AlertState] = [:]) {
        self.series = series
    }

    /// One state under the key of older versions.
    public init(_ state: AlertState) {
        series = state == AlertState() ? [:] : [.unkeyed: state]
    }

    public subscript(key: SeriesKey) -> AlertState {
        get { series[key] ?? AlertState() }
        set { series[key] = newValue == AlertState() ? nil : newValue }
    }

    /// The key `record`'s state is kept under (`Dictionary.key(for:)`): an older version's one
    /// state belongs to the first series that arrives, so an upgrade keeps a running streak and
    /// its cooldowns.
    public mutating func key(for record: Record) -> SeriesKey { series.key(for: record) }

    /// The keys in a stable order.
    public var keys: [SeriesKey] { series.keys.sorted() }
}

/// What hermes-alert remembers about one series.
public struct AlertState: Equatable, Sendable {

    /// Stands for every provider: in a state saved before deliveries were kept per provider,
    /// and for an engine that is not told the providers' names.
    public static let everyProvider = "*"

    /// The newest record applied; records not newer than this are ignored, so replays are safe.
    public var lastRecord: Timestamp?
    /// The error of the latest failure record while failures continue.
    public var lastError: String?
    public var rules: [AlertRule: RuleState]
    /// Recovery messages some provider has not received yet; each run tries again.
    public var owedRecoveries: [OwedRecovery]

    public init(
        lastRecord: Timestamp? = nil, lastError: String? = nil, rules: [AlertRule: RuleState] = [:],
        owedRecoveries: [OwedRecovery] = []
    ) {
        self.lastRecord = lastRecord
        self.lastError = lastError
        self.rules = rules
        self.owedRecoveries = owedRecoveries
    }

    public subscript(rule: AlertRule) -> RuleState {
        get { rules[rule] ?? RuleState() }
        set { rules[rule] = newValue == RuleState() ? nil : newValue }
    }

    public var consecutiveFailures: Int { self[.failure].consecutive }

    /// The rules whose alert is firing, in a stable order.
    public var activeAlerts: [AlertRule] { rules.keys.filter { self[$0].isFiring }.sorted() }
}

/// The state of one rule.
public struct RuleState: Equatable, Sendable {
    /// Consecutive failures (failure rule) or breaching results (threshold rules).
    public var consecutive: Int
    /// Consecutive good results while the alert fires, towards `AlertPolicy.recoveryCount`.
    public var consecutiveGood: Int
    /// The record time at which the alert fired; nil while it is not firing.
    public var firingSince: Timestamp?
    /// Per provider name, when (by the run's clock) it last received this alert; its cooldown
    /// counts from here.
    public var notified: [String: Timestamp]
    /// Per provider, the same moment on the boot clock (`BootClock`): within one boot the cooldown
    /// counts on it, so a wall clock that NTP sets back or forward neither repeats an alert nor
    /// holds one back.
    public var notifiedOnBoot: [String: BootClock.Reading]

    public init(
        consecutive: Int = 0, consecutiveGood: Int = 0, firingSince: Timestamp? = nil,
        notified: [String: Timestamp] = [:], notifiedOnBoot: [String: BootClock.Reading] = [:]
    ) {
        self.consecutive = consecutive
        self.consecutiveGood = consecutiveGood
        self.firingSince = firingSince
        self.notified = notified
        self.notifiedOnBoot = notifiedOnBoot
    }

    public var isFiring: Bool { firingSince != nil }

    /// When the last notification of this alert was delivered to anyone.
    public var lastNotified: Timestamp? { notified.values.max() }

    /// When `provider` last received this alert.
    public func lastNotified(_ provider: String) -> Timestamp? {
        notified[provider] ?? notified[AlertState.everyProvider]
    }
}

/// A recovery message that some providers, which had received the alert, did not get.
public struct OwedRecovery: Equatable, Sendable {
    public var rule: AlertRule
    public var providers: [String]
    public var title: String
    public var message: String
    /// The time of the record that cleared the alert.
    public var timestamp: Timestamp
    /// When (by the run's clock) it was first tried; after a day it is given up.
    public var since: Timestamp

    public static let giveUpAfterMilliseconds: Int64 = 24 * 60 * 60_000

    public init(
        rule: AlertRule, providers: [String], title: String, message: String, timestamp: Timestamp, since: Timestamp
    ) {
        self.rule = rule
        self.providers = providers
        self.title = title
        self.message = message
        self.timestamp = timestamp
        self.since = since
    }

    var notification: AlertNotification {
        AlertNotification(
            event: .recovery, rule: rule, consecutive: 0, error: nil, record: nil, timestamp: timestamp, title: title,
            message: message, providers: providers)
    }
}
