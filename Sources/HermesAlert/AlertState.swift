import HermesCore

/// What hermes-alert remembers between runs.
public struct AlertState: Equatable, Sendable {
    public static let formatVersion: Int64 = 1

    /// The newest record applied; records not newer than this are ignored, so replays are safe.
    public var lastRecord: Timestamp?
    /// The error of the latest failure record while failures continue.
    public var lastError: String?
    public var rules: [AlertRule: RuleState]

    public init(lastRecord: Timestamp? = nil, lastError: String? = nil, rules: [AlertRule: RuleState] = [:]) {
        self.lastRecord = lastRecord
        self.lastError = lastError
        self.rules = rules
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
    /// The record time at which the alert fired; nil while it is not firing.
    public var firingSince: Timestamp?
    /// When (by the run's clock) a notification of this alert was last delivered; the cooldown
    /// counts from here.
    public var lastNotified: Timestamp?

    public init(consecutive: Int = 0, firingSince: Timestamp? = nil, lastNotified: Timestamp? = nil) {
        self.consecutive = consecutive
        self.firingSince = firingSince
        self.lastNotified = lastNotified
    }

    public var isFiring: Bool { firingSince != nil }
}
