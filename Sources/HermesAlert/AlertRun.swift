import HermesCore

/// One run of `hermes-alert`: read records, apply them to the locked state, notify, save.
public struct AlertRun {
    public var settings: AlertSettings
    public var diagnostics: Diagnostics
    /// The run's clock for cooldowns; tests pass a fixed one.
    public var now: @Sendable () -> Timestamp

    public init(
        settings: AlertSettings, diagnostics: Diagnostics, now: @escaping @Sendable () -> Timestamp = { .now() }
    ) {
        self.settings = settings
        self.diagnostics = diagnostics
        self.now = now
    }

    /// Exit status: 0 when every notification reached every provider (or none was due); 69 when
    /// none reached any provider; 75 when some did; else 65 when input lines were rejected; 73/74
    /// when the state file cannot be used.
    public func run(reading fileDescriptor: Int32) -> ExitCode {
        var reader = RecordReader(fileDescriptor: fileDescriptor)
        // Hold the lock only once there is something to apply, not while the producer measures.
        _ = reader.awaitInput(milliseconds: -1)
        let stateFile: StateFile
        var state: AlertBook
        do {
            stateFile = try StateFile(path: settings.statePath)
            let loaded = try stateFile.load()
            state = loaded.state
            if let problem = loaded.problem { diagnostics.report(problem) }
        } catch let error as IOError {
            diagnostics.report(error.description)
            return error.exitCode
        } catch {
            diagnostics.report("\(error)")
            return .configuration
        }
        let initial = state
        let engine = AlertEngine(policy: settings.policy, providers: settings.providers.map(\.name))
        let time = now()
        // Recoveries a provider missed go first, before anything newer for the same rule.
        var owed: [OwedRecovery] = []
        var notifications: [AlertNotification] = []
        for key in state.keys {
            for recovery in Self.owedStillTried(
                &state.series[key, default: AlertState()], now: time, diagnostics: diagnostics)
            {
                owed.append(recovery)
                var notification = recovery.notification
                notification.series = key
                notifications.append(notification)
            }
        }
        var rejectedLines = false
        var ignoredRecords = 0
        var futureRecords = 0
        var readError: IOError?
        while true {
            let item: RecordReader.Item?
            do throws(IOError) {
                item = try reader.next()
            } catch {
                readError = error
                break
            }
            guard let item else { break }
            switch item {
            case .record(let record, _):
                if record.timestamp > AlertEngine.latestRemembered(at: time) { futureRecords += 1 }
                switch engine.apply(record, to: &state, now: time) {
                case .applied(let due): notifications += due
                case .ignored: ignoredRecords += 1
                }
            case .rejected(let line, let reason):
                diagnostics.report("line \(line): \(reason)")
                rejectedLines = true
            }
        }
        if futureRecords > 0 {
            diagnostics.report(
                "\(futureRecords) record(s) dated more than 10 minutes after this machine's clock (\(time.rfc3339)); is a clock wrong?"
            )
        }
        if ignoredRecords > 0 {
            if state.series.count == 1, let last = state.series.values.first?.lastRecord {
                diagnostics.report(
                    "\(ignoredRecords) record(s) not newer than the last one applied (\(last.rfc3339)) ignored")
            } else {
                diagnostics.report(
                    "\(ignoredRecords) record(s) not newer than the last one applied to their series ignored")
            }
        }
        // With several paths, each message says which one it is about. Owed recoveries were named
        // when they were first sent.
        if state.series.count > 1 || notifications.contains(where: { !$0.series.link.isEmpty }) {
            for index in notifications.indices.dropFirst(owed.count) {
                notifications[index] = notifications[index].naming(its: notifications[index].series)
            }
        }

        let reports = Delivery.send(notifications, through: settings.providers, options: settings.delivery)
        Self.record(reports, of: notifications, owed: owed, claimedAt: time, in: &state, initial: initial)
        for report in reports {
            for failure in report.failures { diagnostics.report("\(report.provider): \(failure)") }
        }
        do throws(IOError) {
            try stateFile.save(state)
        } catch {
            diagnostics.report(error.description)
            return error.exitCode
        }
        if let readError {
            diagnostics.report(readError.description)
            return readError.exitCode
        }
        let delivery = Self.exitCode(for: reports, notifications: notifications.count)
        if delivery == .success && rejectedLines { return .dataError }
        return delivery
    }

    /// What the deliveries mean for the state: a provider that missed an alert gets its
    /// cooldown back, so the next run tries it again; a provider that missed a recovery is owed
    /// it. The first `owed.count` notifications are the owed recoveries this run retried.
    static func record(
        _ reports: [ProviderReport], of notifications: [AlertNotification], owed: [OwedRecovery],
        claimedAt time: Timestamp, in state: inout AlertState, initial: AlertState
    ) {
        var book = AlertBook(series: [.unkeyed: state])
        record(reports, of: notifications, owed: owed, claimedAt: time, in: &book, initial: AlertBook(initial))
        state = book[.unkeyed]
    }

    /// `record` over every series: each notification's own series is changed.
    static func record(
        _ reports: [ProviderReport], of notifications: [AlertNotification], owed: [OwedRecovery],
        claimedAt time: Timestamp, in book: inout AlertBook, initial: AlertBook
    ) {
        for (index, notification) in notifications.enumerated() {
            let key = notification.series
            var state = book[key]
            defer { book[key] = state }
            let missed = reports.filter { $0.delivered[index] == false }.map(\.provider)
            if notification.event == .recovery {
                guard !missed.isEmpty else { continue }
                var recovery =
                    index < owed.count
                    ? owed[index]
                    : OwedRecovery(
                        rule: notification.rule, providers: [], title: notification.title,
                        message: notification.message, timestamp: notification.timestamp, since: time)
                recovery.providers = missed
                state.owedRecoveries.append(recovery)
            } else {
                for provider in missed {
                    // A backlog can fire the same rule again later in the run; a provider that
                    // took that alert keeps the cooldown it started.
                    let tookALaterOne = notifications.indices.dropFirst(index + 1).contains { later in
                        notifications[later].rule == notification.rule && notifications[later].series == key
                            && notifications[later].event != .recovery
                            && reports.contains { $0.provider == provider && $0.delivered[later] == true }
                    }
                    if !tookALaterOne {
                        giveBackCooldown(
                            notification.rule, of: provider, claimedAt: time, in: &state, initial: initial[key])
                    }
                }
            }
        }
    }

    /// An alert that did not reach `provider` must not start its cooldown there.
    static func giveBackCooldown(
        _ rule: AlertRule, of provider: String, claimedAt time: Timestamp, in state: inout AlertState,
        initial: AlertState
    ) {
        var ruleState = state[rule]
        guard ruleState.notified[provider] == time else { return }
        let sameStreak = initial[rule].firingSince == ruleState.firingSince
        ruleState.notified[provider] = sameStreak ? initial[rule].notified[provider] : nil
        ruleState.notifiedOnBoot[provider] = sameStreak ? initial[rule].notifiedOnBoot[provider] : nil
        state[rule] = ruleState
    }

    /// Takes the owed recoveries out of the state, dropping (and reporting) those tried for a
    /// day already; the rest are sent again and put back by `record` if still missed.
    static func owedStillTried(_ state: inout AlertState, now: Timestamp, diagnostics: Diagnostics)
        -> [OwedRecovery]
    {
        let owed = state.owedRecoveries
        state.owedRecoveries = []
        return owed.filter { recovery in
            let age = now.millisecondsSinceEpoch - recovery.since.millisecondsSinceEpoch
            guard age > OwedRecovery.giveUpAfterMilliseconds else { return true }
            diagnostics.report(
                "gave up sending the \(recovery.rule.rawValue) recovery of \(recovery.timestamp.rfc3339) to \(recovery.providers.joined(separator: ", ")) after 24 hours of failures"
            )
            return false
        }
    }

    /// 0 all delivered, 75 some, 69 none.
    public static func exitCode(for reports: [ProviderReport], notifications: Int) -> ExitCode {
        guard notifications > 0, !reports.isEmpty else { return .success }
        if reports.allSatisfy(\.deliveredAll) { return .success }
        if reports.contains(where: \.deliveredAny) { return .temporaryFailure }
        return .unavailable
    }
}

/// `hermes-alert test`: one test notification through each provider, one line each.
public enum ProviderTest {
    public static func run(settings: AlertSettings, now: Timestamp) -> (lines: [String], exitCode: ExitCode) {
        let reports = Delivery.send(
            [AlertNotification.test(at: now)], through: settings.providers, options: settings.delivery)
        let lines = reports.map { report in
            report.deliveredAll
                ? "\(report.provider): ok" : "\(report.provider): failed: \(report.failures.joined(separator: "; "))"
        }
        return (lines, AlertRun.exitCode(for: reports, notifications: 1))
    }
}

/// `hermes-alert send`: one message through every configured provider. Silent when every provider
/// took it; otherwise one line per provider that did not, and the exit status of any delivery.
public enum DigestSend {
    /// The most a message may be: more than any notification shows, far less than a runaway pipe.
    public static let maximumBytes = 64 * 1024

    public static func run(
        title: String, message: String, markdown: Bool, settings: AlertSettings, now: Timestamp
    ) -> (failures: [String], exitCode: ExitCode) {
        let notification = AlertNotification.digest(title: title, message: message, markdown: markdown, at: now)
        let reports = Delivery.send([notification], through: settings.providers, options: settings.delivery)
        let failures = reports.filter { !$0.deliveredAll }.map { report in
            "\(report.provider): not sent: \(report.failures.joined(separator: "; "))"
        }
        return (failures, AlertRun.exitCode(for: reports, notifications: 1))
    }
}

/// `hermes-alert status`: the state as lines of `name: value`.
public enum StatusReport {
    /// One block per series, each under a `series:` line when there are several or it has a link.
    public static func lines(for book: AlertBook, path: String) -> [String] {
        let keys = book.keys
        guard keys.count > 1 || keys.contains(where: { !$0.link.isEmpty }) else {
            return lines(for: book[keys.first ?? .unkeyed], path: path)
        }
        var lines = ["state file: \(path)", "series: \(keys.count)"]
        for key in keys {
            lines.append("")
            lines.append("series: \(key.phrase(withProbe: true))")
            lines += self.lines(of: book[key])
        }
        return lines
    }

    public static func lines(for state: AlertState, path: String) -> [String] {
        ["state file: \(path)"] + lines(of: state)
    }

    private static func lines(of state: AlertState) -> [String] {
        var lines: [String] = []
        lines.append("last record: \(state.lastRecord?.rfc3339 ?? "none")")
        lines.append("consecutive failures: \(state.consecutiveFailures)")
        if let error = state.lastError { lines.append("last error: \(error.printableOnOneLine)") }
        let active = state.activeAlerts
        lines.append("active alerts: \(active.isEmpty ? "none" : active.map(\.rawValue).joined(separator: ", "))")
        for rule in state.rules.keys.sorted() {
            let ruleState = state[rule]
            var parts = ["consecutive \(ruleState.consecutive)"]
            if let since = ruleState.firingSince { parts.append("firing since \(since.rfc3339)") }
            if let last = ruleState.lastNotified { parts.append("last alert \(last.rfc3339)") }
            lines.append("\(rule.rawValue): \(parts.joined(separator: ", "))")
        }
        for recovery in state.owedRecoveries {
            lines.append(
                "recovery owed: \(recovery.rule.rawValue) to \(recovery.providers.joined(separator: ", ")), since \(recovery.since.rfc3339)"
            )
        }
        return lines
    }
}
