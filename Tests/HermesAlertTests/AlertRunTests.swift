import HermesAlert
import HermesCore
import HermesTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Whole runs, in process, against loopback receivers, on a fake clock: what each provider
/// receives when another fails.
@Suite struct AlertRunTests {
    let directory: TemporaryDirectory
    let webhook: TestServer
    let ntfy: TestServer

    init() throws {
        directory = try TemporaryDirectory()
        (webhook, webhookIsDown) = try Self.receiver()
        (ntfy, ntfyIsDown) = try Self.receiver()
    }

    /// A receiver answering 200, or 403 (which is not retried) while its switch is set.
    static func receiver() throws -> (TestServer, @Sendable (Bool) -> Void) {
        let down = Mutex(false)
        let server = try TestServer.start { _ in
            down.withLock { $0 } ? .respond(status: 403, reason: "Forbidden", headers: [], body: []) : .ok("")
        }
        return (server, { value in down.withLock { $0 = value } })
    }

    let webhookIsDown: @Sendable (Bool) -> Void
    let ntfyIsDown: @Sendable (Bool) -> Void

    func stop() {
        webhook.stop()
        ntfy.stop()
    }

    /// One run at `minute` reading `records`; its exit status.
    func run(_ records: [Record], at minute: Int, cooldown: String = "60m") throws -> ExitCode {
        var flags = AlertSettings.Flags()
        flags.statePath = directory.file("state.json")
        flags.failureThreshold = 1
        flags.cooldown = cooldown
        flags.timeout = "2s"
        flags.allowPrivateTargets = true
        flags[WebhookProvider.urlOption] = webhook.baseURL + "/hook"
        flags[NtfyProvider.urlOption] = ntfy.baseURL
        flags[NtfyProvider.topicOption] = "topic"
        let settings = try AlertSettings.resolve(flags, environment: Environment(["HOME": directory.path]))
        var descriptors: [Int32] = [0, 0]
        try #require(pipe(&descriptors) == 0)
        var writer = JSONWriter()
        for record in records {
            RecordEncoder.append(record, to: &writer)
            writer.newline()
        }
        try writeAll(writer.bytes, to: descriptors[1], name: "pipe")
        close(descriptors[1])
        defer { close(descriptors[0]) }
        let time = at(minute)
        return AlertRun(settings: settings, diagnostics: Diagnostics(tool: "test"), now: { time })
            .run(reading: descriptors[0])
    }

    func events(_ server: TestServer) -> [String] {
        server.requests.map { request in
            let body = String(decoding: request.bodyPrefix, as: UTF8.self)
            if request.header("Title")?.hasPrefix("Speedtest recovered") == true
                || body.contains(#""event":"recovery""#)
            {
                return "recovery"
            }
            return "alert"
        }
    }

    /// The state of the one series these tests feed.
    func state() throws -> AlertState {
        let book = try #require(try StateFile.read(path: directory.file("state.json"))).get()
        #expect(book.series.count <= 1, "\(book.keys)")
        return book.series.values.first ?? AlertState()
    }

    @Test func aProviderThatMissedTheAlertGetsItNextRunAndOnlyReceiversGetTheRecovery() throws {
        defer { stop() }
        ntfyIsDown(true)
        #expect(try run([failure(0)], at: 0) == .temporaryFailure)
        #expect(try state()[.failure].notified == ["webhook": at(0)])
        ntfyIsDown(false)
        // The webhook is in its cooldown; ntfy never saw the alert, so it gets it now.
        #expect(try run([failure(1)], at: 1) == .success)
        #expect(events(webhook) == ["alert"])
        #expect(events(ntfy) == ["alert", "alert"], "refused, then delivered")
        #expect(try run([result(2)], at: 2) == .success)
        #expect(events(webhook) == ["alert", "recovery"])
        #expect(events(ntfy) == ["alert", "alert", "recovery"])
    }

    @Test func aProviderThatNeverGotTheAlertHearsOfTheOutageFromTheRecovery() throws {
        defer { stop() }
        ntfyIsDown(true)
        #expect(try run([failure(0)], at: 0) == .temporaryFailure)
        ntfyIsDown(false)
        #expect(try run([result(1)], at: 1) == .success)
        #expect(events(webhook) == ["alert", "recovery"])
        #expect(events(ntfy) == ["alert", "recovery"], "the refused alert, then the recovery")
    }

    /// The most likely outage for this tool: the uplink is down, so no alert reaches anyone.
    /// When it is back, the recovery tells every provider, with the time the alert was raised.
    @Test func anOutageNoAlertGotOutOfIsAnnouncedByTheRecovery() throws {
        defer { stop() }
        webhookIsDown(true)
        ntfyIsDown(true)
        #expect(try run([failure(0)], at: 0) == .unavailable)
        webhookIsDown(false)
        ntfyIsDown(false)
        #expect(try run([result(1)], at: 1) == .success)
        #expect(events(webhook) == ["alert", "recovery"])
        #expect(events(ntfy) == ["alert", "recovery"])
        let recovery = try #require(ntfy.requests.last)
        #expect(recovery.header("Title") == "Speedtest recovered after 1 failure")
        #expect(
            String(decoding: recovery.bodyPrefix, as: UTF8.self).contains(
                "The alert was raised at \(failure(0).timestamp.rfc3339)."))
    }

    @Test func aMissedRecoveryIsSentOnTheNextRuns() throws {
        defer { stop() }
        #expect(try run([failure(0)], at: 0) == .success)
        ntfyIsDown(true)
        #expect(try run([result(1)], at: 1) == .temporaryFailure)
        #expect(try state().owedRecoveries.map(\.providers) == [["ntfy"]])
        #expect(try run([result(30)], at: 30) == .unavailable, "still down")
        ntfyIsDown(false)
        #expect(try run([result(40)], at: 40) == .success)
        #expect(events(webhook) == ["alert", "recovery"])
        #expect(events(ntfy).filter { $0 == "recovery" }.count == 3, "two refused, the third delivered")
        #expect(ntfy.requests.last?.header("Title") == "Speedtest recovered after 1 failure")
        #expect(try state().owedRecoveries.isEmpty)
    }

    /// A link's recovery that a provider missed is sent again named once, as it was first sent.
    @Test func aMissedRecoveryOfALinkKeepsItsName() throws {
        defer { stop() }
        func onLink(_ record: Record) -> Record {
            var values = record.values
            values[.link] = .text("lte")
            return Record(kind: record.kind, timestamp: record.timestamp, values: values)
        }
        #expect(try run([onLink(failure(0))], at: 0) == .success)
        ntfyIsDown(true)
        #expect(try run([onLink(result(1))], at: 1) == .temporaryFailure)
        ntfyIsDown(false)
        #expect(try run([onLink(result(40))], at: 40) == .success)
        #expect(ntfy.requests.last?.header("Title") == "Speedtest recovered after 1 failure on lte")
    }

    @Test func aMissedRecoveryIsGivenUpAfterADay() throws {
        defer { stop() }
        #expect(try run([failure(0)], at: 0) == .success)
        ntfyIsDown(true)
        #expect(try run([result(1)], at: 1) == .temporaryFailure)
        let tries = ntfy.requests.count
        #expect(try run([result(24 * 60 + 2)], at: 24 * 60 + 2) == .success)
        #expect(ntfy.requests.count == tries)
        #expect(try state().owedRecoveries.isEmpty)
    }
}
