import HermesCore

/// The state machine: applies records in order to an `AlertState` and says what to notify.
///
/// Counting follows the records; the cooldown follows the run's clock (`now`), so a backlog of
/// records piped in at once repeats an alert at most once per run, and a test can drive time.
public struct AlertEngine: Sendable {
    public var policy: AlertPolicy
    /// The providers' names: cooldowns and who received an alert are kept per provider.
    public var providers: [String]

    /// The boot clock, replaceable in tests.
    public var bootClock: @Sendable () -> BootClock.Reading? = { BootClock.now() }

    public init(policy: AlertPolicy, providers: [String] = [AlertState.everyProvider]) {
        self.policy = policy
        self.providers = providers
    }

    public enum Outcome: Equatable, Sendable {
        /// The record is not newer than the state's last record (a replay); nothing changed.
        case ignored
        case applied([AlertNotification])
    }

    /// How far past the run's clock the replay guard may remember a record's time.
    public static let clockSlackMilliseconds: Int64 = 10 * 60_000

    /// The latest time the replay guard remembers at `now`. A record from a clock far ahead
    /// (one dated 2099) is applied but remembered as dated this late, and a remembered time
    /// later than this (saved under a wrong clock) is forgotten: neither can make every later
    /// record look like a replay.
    public static func latestRemembered(at now: Timestamp) -> Timestamp {
        now.adding(milliseconds: clockSlackMilliseconds)
    }

    /// Applies `record` to its own series' state in `book` (`SeriesKey`): one path's streak is
    /// neither fed nor reset by another's records. The notifications say their series.
    public func apply(_ record: Record, to book: inout AlertBook, now: Timestamp) -> Outcome {
        let key = book.key(for: record)
        var state = book[key]
        let outcome = apply(record, to: &state, now: now)
        book[key] = state
        guard case .applied(let notifications) = outcome else { return outcome }
        return .applied(
            notifications.map { notification in
                var keyed = notification
                keyed.series = key
                return keyed
            })
    }

    public func apply(_ record: Record, to state: inout AlertState, now: Timestamp) -> Outcome {
        let latest = Self.latestRemembered(at: now)
        if let last = state.lastRecord, last <= latest, record.timestamp <= last { return .ignored }
        state.lastRecord = min(record.timestamp, latest)
        var notifications: [AlertNotification] = []
        switch record {
        case .failure(let failure):
            state.lastError = failure.error
            state[.failure].consecutive += 1
            state[.failure].consecutiveGood = 0
            let count = state[.failure].consecutive
            if count >= policy.failureThreshold {
                for (isRepeat, targets) in fire(.failure, at: record.timestamp, in: &state, now: now) {
                    notifications.append(
                        AlertNotification(
                            event: .failure, rule: .failure, consecutive: count, error: failure.error, record: record,
                            timestamp: record.timestamp, title: "Speedtest failure (\(count) consecutive)",
                            message: failure.error, isRepeat: isRepeat, providers: targets))
                }
            }
        case .result(let result):
            let failures = state[.failure].consecutive
            let raised = Self.raisedNote(state[.failure])
            state.lastError = nil
            if let recipients = settle(.failure, in: &state) {
                notifications.append(
                    AlertNotification(
                        event: .recovery, rule: .failure, consecutive: 0, error: nil, record: record,
                        timestamp: record.timestamp,
                        title: failures == 0
                            ? "Speedtest recovered (\(policy.recoveryCount) consecutive results)"
                            : "Speedtest recovered after \(failures) failure\(failures == 1 ? "" : "s")",
                        message: "Measurements succeed again: \(Self.summary(of: result)).\(raised)",
                        isRepeat: false, providers: recipients))
            }
            for threshold in thresholds {
                guard let value = threshold.value(result) else { continue }
                if threshold.isBreached(by: value) {
                    state[threshold.rule].consecutive += 1
                    state[threshold.rule].consecutiveGood = 0
                    let count = state[threshold.rule].consecutive
                    guard count >= policy.breachCount else { continue }
                    let description = threshold.breachDescription(value)
                    for (isRepeat, targets) in fire(threshold.rule, at: record.timestamp, in: &state, now: now) {
                        notifications.append(
                            AlertNotification(
                                event: .threshold, rule: threshold.rule, consecutive: count, error: description,
                                record: record, timestamp: record.timestamp,
                                title:
                                    "\(threshold.breachTitle) (\(count) consecutive result\(count == 1 ? "" : "s"))",
                                message: description, isRepeat: isRepeat, providers: targets))
                    }
                } else if case let raised = Self.raisedNote(state[threshold.rule]),
                    let recipients = settle(threshold.rule, in: &state)
                {
                    notifications.append(
                        AlertNotification(
                            event: .recovery, rule: threshold.rule, consecutive: 0, error: nil, record: record,
                            timestamp: record.timestamp, title: threshold.recoveryTitle,
                            message: "\(threshold.label) was \(threshold.formatted(value)).\(raised)", isRepeat: false,
                            providers: recipients))
                }
            }
        }
        return .applied(notifications)
    }

    /// Marks `rule` firing and returns the providers a notification is due to (none: every one
    /// is in its cooldown), in two groups: those that get this alert for the first time, and
    /// those to whom it is a repeat. Each due provider's cooldown
    /// is claimed now; `AlertRun` gives it back to a provider that did not take the message, so
    /// the next run tries that provider again.
    private func fire(_ rule: AlertRule, at time: Timestamp, in state: inout AlertState, now: Timestamp) -> [(
        isRepeat: Bool, targets: [String]
    )] {
        var ruleState = state[rule]
        if !ruleState.isFiring { ruleState.firingSince = time }
        let onBoot = bootClock()
        let due = providers.filter { name in
            // Within one boot the boot clock says how long ago it really was.
            if let onBoot, let then = ruleState.notifiedOnBoot[name], let elapsed = onBoot.milliseconds(since: then) {
                return elapsed >= policy.cooldownMilliseconds
            }
            guard let last = ruleState.lastNotified(name), last <= now else { return true }
            return now.millisecondsSinceEpoch - last.millisecondsSinceEpoch >= policy.cooldownMilliseconds
        }
        // A provider that missed this alert so far gets it as new, not as a repeat.
        let repeats = due.filter { ruleState.lastNotified($0) != nil }
        let firsts = due.filter { ruleState.lastNotified($0) == nil }
        for name in due {
            ruleState.notified[name] = now
            ruleState.notifiedOnBoot[name] = onBoot
        }
        state[rule] = ruleState
        return [(false, firsts), (true, repeats)].filter { !$0.targets.isEmpty }
    }

    /// A good record for `rule`. While the alert fires it only counts towards
    /// `policy.recoveryCount` (the streak of bad records ends, the alert and its cooldowns
    /// stay); the last one needed clears it, as `clear` does.
    private func settle(_ rule: AlertRule, in state: inout AlertState) -> [String]? {
        var ruleState = state[rule]
        guard ruleState.isFiring, ruleState.consecutiveGood + 1 < policy.recoveryCount else {
            return clear(rule, in: &state)
        }
        ruleState.consecutiveGood += 1
        ruleState.consecutive = 0
        state[rule] = ruleState
        return nil
    }

    /// Ends `rule`'s streak and clears its cooldown. When a recovery message is due (the alert
    /// was firing and recovery messages are on), every provider: also one the alert never
    /// reached. When the uplink itself was down, no alert got out, and the recovery, which says
    /// when the alert was raised, is the only word of the outage anyone gets.
    private func clear(_ rule: AlertRule, in state: inout AlertState) -> [String]? {
        let previous = state[rule]
        state[rule] = RuleState()
        guard previous.isFiring, policy.sendsRecovery else { return nil }
        return providers
    }

    /// " The alert was raised at <time>." for a firing rule's recovery message.
    private static func raisedNote(_ ruleState: RuleState) -> String {
        ruleState.firingSince.map { " The alert was raised at \($0.rfc3339)." } ?? ""
    }

    private var thresholds: [Threshold] {
        var list: [Threshold] = []
        if let minimum = policy.minimumDownloadMbps {
            list.append(Threshold(rule: .download, limit: minimum, isMinimum: true, unit: "Mbit/s") { $0.downloadMbps })
        }
        if let minimum = policy.minimumUploadMbps {
            list.append(Threshold(rule: .upload, limit: minimum, isMinimum: true, unit: "Mbit/s") { $0.uploadMbps })
        }
        if let maximum = policy.maximumPingMs {
            list.append(Threshold(rule: .ping, limit: maximum, isMinimum: false, unit: "ms") { $0.pingMs })
        }
        if let minimum = policy.minimumRPM {
            list.append(
                Threshold(rule: .responsiveness, limit: minimum, isMinimum: true, unit: "RPM") {
                    $0.values[.responsivenessRPM].number
                })
        }
        return list
    }

    static func summary(of result: SpeedResult) -> String {
        var parts: [String] = []
        if let download = result.downloadMbps { parts.append("download \(decimal(download)) Mbit/s") }
        if let upload = result.uploadMbps { parts.append("upload \(decimal(upload)) Mbit/s") }
        parts.append("ping \(decimal(result.pingMs)) ms")
        return parts.joined(separator: ", ")
    }
}

/// A configured limit on one value of a result.
private struct Threshold {
    let rule: AlertRule
    let limit: Double
    let isMinimum: Bool
    let unit: String
    let value: (SpeedResult) -> Double?

    var label: String {
        switch rule {
        case .download: "Download"
        case .upload: "Upload"
        case .ping, .failure: "Ping"
        case .responsiveness: "Responsiveness"
        }
    }

    func isBreached(by value: Double) -> Bool { isMinimum ? value < limit : value > limit }

    func formatted(_ value: Double) -> String { "\(decimal(value)) \(unit)" }

    var breachTitle: String { "\(label) \(isMinimum ? "below" : "above") \(formatted(limit))" }

    var recoveryTitle: String { "\(label) back \(isMinimum ? "to" : "within") \(formatted(limit))" }

    func breachDescription(_ value: Double) -> String {
        "\(label) was \(formatted(value)), \(isMinimum ? "below the minimum" : "above the maximum") of \(formatted(limit))."
    }
}

/// A number for people: whole numbers without a fraction, others with one decimal.
func decimal(_ value: Double) -> String {
    let tenths = (value * 10).rounded()
    guard tenths.isFinite, abs(tenths) < 1e15 else { return "\(value)" }
    let whole = Int64(tenths) / 10
    let fraction = abs(Int64(tenths) % 10)
    if fraction == 0 { return "\(Int64(tenths) < 0 && whole == 0 ? "-" : "")\(whole)" }
    return "\(Int64(tenths) < 0 && whole == 0 ? "-" : "")\(whole).\(fraction)"
}
