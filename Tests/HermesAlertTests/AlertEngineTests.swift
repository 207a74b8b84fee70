import HermesCore
import Synchronization
import Testing

@testable import HermesAlert

@Suite struct AlertEngineTests {
    @Test func theFailureAlertFiresAtTheThreshold() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 3))
        #expect(scenario.feed(failure(0)).isEmpty)
        #expect(scenario.feed(failure(1)).isEmpty)
        let fired = scenario.feed(failure(2, "DNS lookup of speed.example failed"))
        #expect(fired.count == 1)
        #expect(fired.first?.event == .failure)
        #expect(fired.first?.consecutive == 3)
        #expect(fired.first?.error == "DNS lookup of speed.example failed")
        #expect(fired.first?.title == "Speedtest failure (3 consecutive)")
        #expect(fired.first?.isRepeat == false)
        #expect(scenario.state.activeAlerts == [.failure])
        #expect(scenario.state.consecutiveFailures == 3)
    }

    @Test func theCooldownFollowsTheClockNotTheRecords() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 1, cooldownMilliseconds: 60 * 60_000))
        #expect(scenario.feed(failure(0), now: at(0)).count == 1)
        #expect(scenario.feed(failure(5), now: at(30)).isEmpty)
        // A record far later does not end the cooldown; the clock does.
        #expect(scenario.feed(failure(500), now: at(59)).isEmpty)
        let repeated = scenario.feed(failure(501), now: at(60))
        #expect(repeated.count == 1)
        #expect(repeated.first?.isRepeat == true)
        #expect(repeated.first?.consecutive == 4)
        #expect(scenario.feed(failure(502), now: at(61)).isEmpty)
    }

    /// Within one boot the cooldown counts on the boot clock: NTP setting the wall clock back an
    /// hour or forward a day between runs neither repeats the alert early nor holds it back;
    /// after a reboot (another boot id) the wall clock counts again.
    @Test func withinOneBootTheCooldownIgnoresWallClockJumps() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 1, cooldownMilliseconds: 60 * 60_000))
        let boot = Mutex(BootClock.Reading(boot: "boot-a", milliseconds: 10_000))
        scenario.engine.bootClock = { boot.withLock { $0 } }
        func advance(minutes: Int64, boot id: String = "boot-a") {
            boot.withLock { $0 = BootClock.Reading(boot: id, milliseconds: $0.milliseconds + minutes * 60_000) }
        }
        #expect(scenario.feed(failure(0), now: at(0)).count == 1)
        advance(minutes: 30)
        #expect(scenario.feed(failure(30), now: at(-30)).isEmpty, "the wall clock set back an hour: 30 real minutes")
        advance(minutes: 5)
        #expect(scenario.feed(failure(35), now: at(35 + 24 * 60)).isEmpty, "forward a day: 35 real minutes")
        advance(minutes: 30)
        #expect(scenario.feed(failure(65), now: at(40)).count == 1, "65 real minutes, whatever the wall clock says")
        // Another boot: the boot clock started again, so the wall clock decides.
        advance(minutes: 1, boot: "boot-b")
        #expect(scenario.feed(failure(66), now: at(41)).isEmpty, "an hour on the wall clock has not passed")
        #expect(scenario.feed(failure(130), now: at(130)).count == 1)
    }

    @Test func aBacklogRepeatsAtMostOncePerRun() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 2, cooldownMilliseconds: 0))
        var sent: [AlertNotification] = []
        for minute in 0..<10 { sent += scenario.feed(failure(minute), now: at(100)) }
        // Cooldown 0 is "every failure at or past the threshold", as in the Python Hermes.
        #expect(sent.count == 9)
        var cooled = Scenario(AlertPolicy(failureThreshold: 2, cooldownMilliseconds: 60_000))
        sent = []
        for minute in 0..<10 { sent += cooled.feed(failure(minute), now: at(100)) }
        #expect(sent.count == 1)
    }

    @Test func aResultAfterAnAlertSendsRecoveryAndClearsTheCooldown() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 2))
        _ = scenario.feed(failure(0))
        #expect(scenario.feed(failure(1)).count == 1)
        let recovered = scenario.feed(result(2, download: 95.25, upload: 20, ping: 12))
        #expect(recovered.count == 1)
        #expect(recovered.first?.event == .recovery)
        #expect(recovered.first?.title == "Speedtest recovered after 2 failures")
        #expect(
            recovered.first?.message
                == "Measurements succeed again: download 95.3 Mbit/s, upload 20 Mbit/s, ping 12 ms."
                + " The alert was raised at \(failure(1).timestamp.rfc3339).")
        #expect(scenario.state.activeAlerts.isEmpty)
        #expect(scenario.state.consecutiveFailures == 0)
        #expect(scenario.state.lastError == nil)
        // The cooldown was cleared: a new streak alerts at once, well within the hour.
        _ = scenario.feed(failure(3))
        #expect(scenario.feed(failure(4)).count == 1)
    }

    @Test func failuresBelowTheThresholdResetSilently() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 3))
        _ = scenario.feed(failure(0))
        _ = scenario.feed(failure(1))
        #expect(scenario.feed(result(2)).isEmpty)
        #expect(scenario.state.consecutiveFailures == 0)
        #expect(scenario.feed(failure(3)).isEmpty)
    }

    @Test func noRecoveryStillClearsTheAlert() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 1, sendsRecovery: false))
        #expect(scenario.feed(failure(0)).count == 1)
        #expect(scenario.feed(result(1)).isEmpty)
        #expect(scenario.state.activeAlerts.isEmpty)
        #expect(scenario.feed(failure(2)).count == 1)
    }

    @Test func thresholdAlertsNeedTheBreachCountAndRecover() {
        var scenario = Scenario(AlertPolicy(minimumDownloadMbps: 50, maximumPingMs: 100, breachCount: 2))
        #expect(scenario.feed(result(0, download: 40)).isEmpty)
        // A skipped download phase neither breaches nor clears.
        #expect(scenario.feed(result(1, download: nil)).isEmpty)
        let fired = scenario.feed(result(2, download: 42.5))
        #expect(fired.count == 1)
        #expect(fired.first?.event == .threshold)
        #expect(fired.first?.rule == .download)
        #expect(fired.first?.consecutive == 2)
        #expect(fired.first?.title == "Download below 50 Mbit/s (2 consecutive results)")
        #expect(fired.first?.error == "Download was 42.5 Mbit/s, below the minimum of 50 Mbit/s.")
        #expect(scenario.feed(result(3, download: 30)).isEmpty, "within the cooldown")
        let recovered = scenario.feed(result(4, download: 80))
        #expect(recovered.map(\.event) == [.recovery])
        #expect(recovered.first?.rule == .download)
        #expect(recovered.first?.title == "Download back to 50 Mbit/s")
        #expect(scenario.state.activeAlerts.isEmpty)
    }

    @Test func aThresholdAlertRepeatsAfterTheCooldown() {
        var scenario = Scenario(
            AlertPolicy(cooldownMilliseconds: 60 * 60_000, minimumDownloadMbps: 50, breachCount: 1))
        #expect(scenario.feed(result(0, download: 10)).map(\.isRepeat) == [false])
        #expect(scenario.feed(result(30, download: 10)).isEmpty)
        let repeated = scenario.feed(result(60, download: 12))
        #expect(repeated.map(\.isRepeat) == [true])
        #expect(repeated.first?.consecutive == 3)
        #expect(repeated.first?.title == "Download below 50 Mbit/s (3 consecutive results)")
        #expect(scenario.feed(result(61, download: 10)).isEmpty)
    }

    /// Download 40, 40, 60, 40, 40, 60 against a minimum of 50, one run a minute.
    func flapping(recoveryCount: Int) -> [AlertNotification.Event] {
        var scenario = Scenario(
            AlertPolicy(
                cooldownMilliseconds: 60 * 60_000, minimumDownloadMbps: 50, breachCount: 2,
                recoveryCount: recoveryCount))
        var events: [AlertNotification.Event] = []
        for (minute, download) in [40.0, 40, 60, 40, 40, 60].enumerated() {
            events += scenario.feed(result(minute, download: download)).map(\.event)
        }
        return events
    }

    @Test func oneGoodResultClearsAnAlertByDefaultSoAFlappingLinkNotifiesOften() {
        #expect(flapping(recoveryCount: 1) == [.threshold, .recovery, .threshold, .recovery])
    }

    @Test func aRecoveryCountHoldsTheAlertThroughOneGoodResult() {
        #expect(flapping(recoveryCount: 2) == [.threshold])
        var scenario = Scenario(
            AlertPolicy(minimumDownloadMbps: 50, breachCount: 2, recoveryCount: 2))
        _ = scenario.feed(result(0, download: 40))
        _ = scenario.feed(result(1, download: 40))
        #expect(scenario.feed(result(2, download: 60)).isEmpty)
        #expect(scenario.state[.download].consecutiveGood == 1)
        #expect(scenario.state.activeAlerts == [.download])
        #expect(scenario.feed(result(3, download: 70)).map(\.title) == ["Download back to 50 Mbit/s"])
        #expect(scenario.state.activeAlerts.isEmpty)
    }

    @Test func aRecoveryCountAppliesToTheFailureAlertToo() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 2, recoveryCount: 2))
        _ = scenario.feed(failure(0))
        #expect(scenario.feed(failure(1)).count == 1)
        #expect(scenario.feed(result(2)).isEmpty)
        #expect(scenario.state.activeAlerts == [.failure])
        // A failure in between starts the count of good results again.
        #expect(scenario.feed(failure(3)).isEmpty, "one failure, below the threshold, within the cooldown")
        #expect(scenario.feed(result(4)).isEmpty)
        #expect(scenario.feed(result(5)).map(\.title) == ["Speedtest recovered (2 consecutive results)"])
    }

    /// `--min-rpm`: responsiveness under load, judged only on results that have it.
    @Test func responsivenessBelowTheMinimumAlertsAndRecovers() {
        func responsive(_ minute: Int, _ rpm: Double?) -> Record {
            guard case .result(var measured) = result(minute) else { return result(minute) }
            measured.values[.responsivenessRPM] = FieldValue(rpm)
            return .result(measured)
        }
        var scenario = Scenario(AlertPolicy(minimumRPM: 500, breachCount: 2))
        #expect(scenario.feed(responsive(0, 240)).isEmpty)
        // A run without the responsiveness test neither breaches nor clears.
        #expect(scenario.feed(responsive(1, nil)).isEmpty)
        let fired = scenario.feed(responsive(2, 180))
        #expect(fired.map(\.rule) == [.responsiveness])
        #expect(fired.first?.title == "Responsiveness below 500 RPM (2 consecutive results)")
        #expect(fired.first?.error == "Responsiveness was 180 RPM, below the minimum of 500 RPM.")
        // Exactly the minimum is not below it.
        let recovered = scenario.feed(responsive(3, 500))
        #expect(recovered.map(\.event) == [.recovery])
        #expect(recovered.first?.title == "Responsiveness back to 500 RPM")
        #expect(scenario.state.activeAlerts.isEmpty)
    }

    @Test func pingAndDownloadAlertIndependently() {
        var scenario = Scenario(AlertPolicy(minimumDownloadMbps: 50, maximumPingMs: 100, breachCount: 1))
        let both = scenario.feed(result(0, download: 10, ping: 250))
        #expect(both.map(\.rule) == [.download, .ping])
        #expect(both.last?.title == "Ping above 100 ms (1 consecutive result)")
        let pingOnly = scenario.feed(result(1, download: 60, ping: 300))
        #expect(pingOnly.map(\.event) == [.recovery])
        #expect(scenario.state.activeAlerts == [.ping])
    }

    @Test func aFailureRecordLeavesThresholdStreaksAlone() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 5, minimumUploadMbps: 10, breachCount: 2))
        _ = scenario.feed(result(0, upload: 5))
        _ = scenario.feed(failure(1))
        #expect(scenario.feed(result(2, upload: 4)).map(\.rule) == [.upload])
    }

    @Test func replayedAndOutOfOrderRecordsAreIgnored() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 2))
        _ = scenario.feed(failure(10))
        let before = scenario.state
        #expect(scenario.engine.apply(failure(10), to: &scenario.state, now: at(10)) == .ignored)
        #expect(scenario.engine.apply(failure(3), to: &scenario.state, now: at(11)) == .ignored)
        #expect(scenario.engine.apply(result(9), to: &scenario.state, now: at(11)) == .ignored)
        #expect(scenario.state == before)
        #expect(scenario.feed(failure(11)).count == 1)
    }

    /// A record from a clock far ahead used to make every later record a replay: silence.
    @Test func aFutureDatedRecordCannotSilenceLaterOnes() throws {
        let year2099 = try Timestamp(rfc3339: "2099-01-01T00:00:00.000Z")
        var scenario = Scenario(AlertPolicy(failureThreshold: 2))
        let future = Record.failure(MeasurementFailure(timestamp: year2099, error: "bad clock", errorKind: .connect))
        #expect(scenario.feed(future, now: at(0)).isEmpty)
        #expect(scenario.state.lastRecord == at(10), "remembered as the clock plus 10 minutes")
        #expect(scenario.engine.apply(failure(9), to: &scenario.state, now: at(9)) == .ignored)
        #expect(scenario.feed(failure(11), now: at(11)).map(\.consecutive) == [2])
        // A state saved by an older hermes-alert may already hold the far future.
        var stored = Scenario(AlertPolicy(failureThreshold: 1))
        stored.state.lastRecord = year2099
        #expect(stored.feed(failure(1), now: at(1)).count == 1)
        #expect(stored.state.lastRecord == at(1))
    }

    /// One run's backlog fires the failure alert, clears it and fires it again. ntfy missed the
    /// first alert but took the second: its cooldown, started by the second, must stay.
    @Test func aProviderThatTookALaterAlertOfTheRunKeepsItsCooldown() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 1))
        scenario.engine.providers = ["webhook", "ntfy"]
        let initial = scenario.state
        let now = at(3)
        var notifications: [AlertNotification] = []
        for record in [failure(0), result(1), failure(2)] { notifications += scenario.feed(record, now: now) }
        #expect(notifications.map(\.event) == [.failure, .recovery, .failure])
        let reports = [
            ProviderReport(provider: "webhook", delivered: [true, true, true], failures: []),
            ProviderReport(provider: "ntfy", delivered: [false, true, true], failures: ["refused"]),
        ]
        AlertRun.record(
            reports, of: notifications, owed: [], claimedAt: now, in: &scenario.state, initial: initial)
        #expect(scenario.state[.failure].notified == ["webhook": now, "ntfy": now])
        #expect(scenario.feed(failure(4), now: at(4)).isEmpty, "both providers are in their cooldown")
    }

    /// ntfy missed the alert; when it fires again after the cooldown, the webhook gets a repeat
    /// and ntfy gets the alert as new, in two notifications.
    @Test func aProviderThatMissedTheAlertGetsItAsNewNotAsARepeat() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 1))
        scenario.engine.providers = ["webhook", "ntfy"]
        let initial = scenario.state
        let first = scenario.feed(failure(0), now: at(0))
        #expect(first.map(\.providers) == [["webhook", "ntfy"]])
        AlertRun.giveBackCooldown(.failure, of: "ntfy", claimedAt: at(0), in: &scenario.state, initial: initial)
        let next = scenario.feed(failure(61), now: at(61))
        #expect(next.map(\.isRepeat) == [false, true])
        #expect(next.map(\.providers) == [["ntfy"], ["webhook"]])
    }

    @Test func anUndeliveredAlertGivesItsCooldownBack() {
        var scenario = Scenario(AlertPolicy(failureThreshold: 1))
        let initial = scenario.state
        #expect(scenario.feed(failure(0), now: at(0)).count == 1)
        AlertRun.giveBackCooldown(.failure, of: "*", claimedAt: at(0), in: &scenario.state, initial: initial)
        #expect(scenario.state[.failure].lastNotified == nil)
        #expect(scenario.state.activeAlerts == [.failure])
        // Nobody was told, so the next failure tries again instead of waiting an hour.
        #expect(scenario.feed(failure(1), now: at(1)).count == 1)
        // An alert no one received (the uplink was down) is still announced by its recovery:
        // the only word of the outage anyone gets, saying when the alert was raised.
        var silent = Scenario(AlertPolicy(failureThreshold: 1))
        _ = silent.feed(failure(0), now: at(0))
        AlertRun.giveBackCooldown(.failure, of: "*", claimedAt: at(0), in: &silent.state, initial: AlertState())
        let recovery = silent.feed(result(1))
        #expect(recovery.map(\.event) == [.recovery])
        #expect(recovery.first?.message.hasSuffix(" The alert was raised at \(failure(0).timestamp.rfc3339).") == true)
    }
}
