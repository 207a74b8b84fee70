import HermesCore
import Testing

@testable import HermesAlert

/// Records of several paths (links, servers) mixed in one stream: each path counts its own streak,
/// cooldown and recovery.
@Suite struct SeriesTests {
    /// One record of a path: `F` a failure, `R` a good result, `S` a slow one (below the download
    /// minimum), on `link` and `server`.
    struct Step: CustomStringConvertible, Sendable {
        var path: String
        var kind: Character

        var description: String { "\(path):\(kind)" }

        func record(at minute: Int) -> Record {
            let (link, server) = SeriesTests.paths[path]!
            var values: RecordValues
            switch kind {
            case "F":
                values = failure(minute, "could not connect to \(server)").values
            case "S":
                values = result(minute, download: 5).values
            default:
                values = result(minute).values
            }
            values[.link] = .text(link)
            values[.serverURL] = .text(server)
            values[.probe] = .text("pi")
            return Record(kind: kind == "F" ? .failure : .result, timestamp: at(minute), values: values)
        }
    }

    static let paths = [
        "a": ("wan1", "http://a.example:8080"), "b": ("wan2", "http://a.example:8080"),
        "c": ("wan1", "http://c.example:8080"),
    ]

    /// Each case: a stream "a:F b:R …", one record a minute, and the notifications expected as
    /// "event@path" in order. Threshold 2 failures, 2 slow results, cooldown 1 h, recovery on
    /// the first good record.
    static let cases: [(stream: String, expected: [String])] = [
        // Interleaved failures of two links: neither reaches 2 in a row of its own… until it does.
        ("a:F b:F a:R b:F", ["failure@b"]),
        // One link's result does not reset the other's streak.
        ("a:F b:R a:F", ["failure@a"]),
        // Two paths failing together fire twice, once each, and recover each on its own.
        ("a:F c:F a:F c:F a:R c:F c:R", ["failure@a", "failure@c", "recovery@a", "recovery@c"]),
        // A recovery of one path says nothing of the other, still firing and in its cooldown.
        ("a:F a:F b:F b:F a:R b:F", ["failure@a", "failure@b", "recovery@a"]),
        // Threshold rules per path too: a slow second link does not count against the first.
        ("a:S b:S a:R b:S", ["threshold@b"]),
        ("a:S b:S a:S b:R", ["threshold@a"]),
    ]

    @Test(arguments: cases)
    func streaksAreCountedPerSeries(stream: String, expected: [String]) {
        var engine = AlertEngine(
            policy: AlertPolicy(
                failureThreshold: 2, cooldownMilliseconds: 60 * 60_000, minimumDownloadMbps: 10, breachCount: 2))
        engine.bootClock = { nil }
        var book = AlertBook()
        var notified: [String] = []
        for (minute, token) in stream.split(separator: " ").enumerated() {
            let step = Step(path: String(token.prefix(1)), kind: token.last!)
            guard case .applied(let due) = engine.apply(step.record(at: minute), to: &book, now: at(minute)) else {
                Issue.record("\(step) was ignored")
                continue
            }
            for notification in due {
                let path = Self.paths.first { $0.value == (notification.series.link, notification.series.server) }?.key
                notified.append("\(notification.event.rawValue)@\(path ?? "?")")
            }
        }
        #expect(notified == expected, "\(stream)")
        #expect(book.series.count == Set(stream.split(separator: " ").map { $0.prefix(1) }).count)
    }

    /// A replayed record is judged against its own series: an older record of another path is
    /// not a replay.
    @Test func theReplayGuardIsPerSeries() {
        let engine = AlertEngine(policy: AlertPolicy(failureThreshold: 1))
        var book = AlertBook()
        #expect(engine.apply(Step(path: "a", kind: "R").record(at: 10), to: &book, now: at(10)) == .applied([]))
        #expect(engine.apply(Step(path: "b", kind: "R").record(at: 5), to: &book, now: at(10)) == .applied([]))
        #expect(engine.apply(Step(path: "a", kind: "R").record(at: 9), to: &book, now: at(10)) == .ignored)
    }

    /// The state of an older version (one series, no key) belongs to the first series that
    /// arrives: a streak running at the upgrade goes on, and a second path starts its own.
    @Test func anOldStateIsTakenOverByTheFirstSeries() {
        var engine = AlertEngine(policy: AlertPolicy(failureThreshold: 3))
        engine.bootClock = { nil }
        var old = AlertState()
        old[.failure] = RuleState(consecutive: 2)
        var book = AlertBook(old)
        guard case .applied(let fired) = engine.apply(Step(path: "a", kind: "F").record(at: 1), to: &book, now: at(1))
        else { return }
        #expect(fired.map(\.consecutive) == [3])
        #expect(book.keys == [SeriesKey(probe: "pi", link: "wan1", server: "http://a.example:8080")])
        _ = engine.apply(Step(path: "b", kind: "F").record(at: 2), to: &book, now: at(2))
        #expect(book[SeriesKey(probe: "pi", link: "wan2", server: "http://a.example:8080")].consecutiveFailures == 1)
    }

    /// With several paths a message names its own: the link in the title, link and server in
    /// the text.
    @Test func aNotificationNamesItsPath() {
        let key = SeriesKey(probe: "pi", link: "wan2", server: "http://b.example:8080")
        var notification = AlertNotification(
            event: .failure, rule: .failure, consecutive: 3, error: "x", record: nil, timestamp: at(0),
            title: "Speedtest failure (3 consecutive)", message: "could not connect.")
        notification.series = key
        let named = notification.naming(its: key)
        #expect(named.title == "Speedtest failure (3 consecutive) on wan2")
        #expect(named.message == "could not connect. (link wan2, server http://b.example:8080)")
        #expect(notification.naming(its: .unkeyed) == notification)
    }
}
