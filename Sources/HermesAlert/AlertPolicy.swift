/// When to notify: the rules a run applies to each record (issue 5, ecosystem.md §3.5).
public struct AlertPolicy: Equatable, Sendable {
    /// Consecutive failure records before the failure alert fires.
    public var failureThreshold: Int
    /// The least time between two notifications of the same firing alert.
    public var cooldownMilliseconds: Int64
    /// Whether a firing alert that clears sends a recovery message.
    public var sendsRecovery: Bool
    public var minimumDownloadMbps: Double?
    public var minimumUploadMbps: Double?
    public var maximumPingMs: Double?
    /// The least `responsiveness_rpm`; results without a responsiveness test are not judged.
    public var minimumRPM: Double?
    /// Consecutive results breaching a threshold before its alert fires.
    public var breachCount: Int
    /// Consecutive good results before a firing alert clears (1: the first one clears it).
    public var recoveryCount: Int

    public static let defaultFailureThreshold = 3
    public static let defaultCooldownMilliseconds: Int64 = 60 * 60_000
    public static let defaultBreachCount = 3
    public static let defaultRecoveryCount = 1

    public init(
        failureThreshold: Int = AlertPolicy.defaultFailureThreshold,
        cooldownMilliseconds: Int64 = AlertPolicy.defaultCooldownMilliseconds,
        sendsRecovery: Bool = true,
        minimumDownloadMbps: Double? = nil,
        minimumUploadMbps: Double? = nil,
        maximumPingMs: Double? = nil,
        minimumRPM: Double? = nil,
        breachCount: Int = AlertPolicy.defaultBreachCount,
        recoveryCount: Int = AlertPolicy.defaultRecoveryCount
    ) {
        self.recoveryCount = recoveryCount
        self.failureThreshold = failureThreshold
        self.cooldownMilliseconds = cooldownMilliseconds
        self.sendsRecovery = sendsRecovery
        self.minimumDownloadMbps = minimumDownloadMbps
        self.minimumUploadMbps = minimumUploadMbps
        self.maximumPingMs = maximumPingMs
        self.minimumRPM = minimumRPM
        self.breachCount = breachCount
    }
}

/// One condition that can fire an alert. Each keeps its own count, cooldown and recovery.
public enum AlertRule: String, Sendable, CaseIterable, Comparable {
    case failure
    case download
    case upload
    case ping
    case responsiveness

    public static func < (lhs: AlertRule, rhs: AlertRule) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}
