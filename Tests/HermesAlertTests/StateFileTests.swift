import Foundation
import HermesAlert
import HermesCore
import HermesTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct StateFileTests {
    @Test func stateSurvivesARoundTrip() throws {
        var state = AlertState(lastRecord: at(5), lastError: "no route to \"host\"\n")
        state[.failure] = RuleState(consecutive: 4, firingSince: at(3), notified: ["ntfy": at(4), "webhook": at(2)])
        state[.ping] = RuleState(consecutive: 1)
        state[.download] = RuleState(consecutiveGood: 1, firingSince: at(1), notified: ["*": at(1)])
        state.owedRecoveries = [
            OwedRecovery(
                rule: .download, providers: ["gotify", "ntfy"], title: "Download back to 50 Mbit/s",
                message: "Download was 80 Mbit/s.", timestamp: at(1), since: at(2))
        ]
        let decoded = StateCoding.decode(StateCoding.encode(state))
        #expect(decoded == .success(AlertBook(state)))
        var book = AlertBook(state)
        book[SeriesKey(probe: "pi", link: "wan2", server: "http://b:8080")] = AlertState(lastRecord: at(9))
        #expect(StateCoding.decode(StateCoding.encode(book)) == .success(book))
    }

    /// A state saved before deliveries were kept per provider: its one time counts for all.
    @Test func anOlderStateFileStillLoads() throws {
        let old =
            #"{"v":1,"last_record":"2026-05-28T20:28:40.000Z","last_error":"timeout","#
            + #""rules":{"failure":{"consecutive":3,"firing_since":"2026-05-28T20:28:40.000Z","#
            + #""last_notified":"2026-05-28T20:28:40.000Z"}}}"#
        let book = try StateCoding.decode(Array(old.utf8)).get()
        #expect(book.keys == [.unkeyed])
        var state = book[.unkeyed]
        #expect(state[.failure] == RuleState(consecutive: 3, firingSince: at(2), notified: ["*": at(2)]))
        let engine = AlertEngine(policy: AlertPolicy(failureThreshold: 3), providers: ["webhook", "ntfy"])
        #expect(engine.apply(failure(3), to: &state, now: at(3)) == .applied([]), "in every provider's cooldown")
        guard case .applied(let recovery) = engine.apply(result(4), to: &state, now: at(4)) else {
            Issue.record("the result was ignored")
            return
        }
        #expect(recovery.map(\.providers) == [["webhook", "ntfy"]])
    }

    @Test func aMissingFileIsCreatedAndReported() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("nested/dir/state.json")
        let file = try StateFile(path: path)
        let (state, problem) = try file.load()
        #expect(state == AlertBook())
        #expect(problem == "state file \(path) did not exist; starting with a fresh state")
        try file.save(AlertBook(AlertState(lastRecord: at(1))))
        #expect(try StateFile.read(path: path) == .success(AlertBook(AlertState(lastRecord: at(1)))))
    }

    @Test(arguments: [
        ("{not json", "invalid JSON"),
        ("[]", "not a JSON object"),
        (#"{"v":0}"#, "format version 0"),
        (#"{"v":1,"last_record":"yesterday"}"#, "\"last_record\" is not an RFC 3339 time"),
        (#"{"v":1,"rules":{"failure":{"consecutive":-1}}}"#, "no valid \"consecutive\""),
    ])
    func aDamagedFileIsReplacedAndReported(contents: String, reason: String) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.json")
        try FileSystem.atomicReplace(path, with: Array(contents.utf8))
        let file = try StateFile(path: path)
        let (state, problem) = try file.load()
        #expect(state == AlertBook())
        #expect(problem?.contains("is damaged") == true)
        #expect(problem?.contains(reason) == true, "\(problem ?? "nil")")
        try file.save(state)
        #expect(try StateFile.read(path: path) == .success(AlertBook()))
    }

    /// A file from a newer hermes-alert is neither read nor replaced: going back a version
    /// must not wipe the newer version's alert state.
    @Test func aFileFromANewerVersionIsLeftAsItIs() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.json")
        let contents = #"{"v":99,"future":true}"#
        try FileSystem.atomicReplace(path, with: Array(contents.utf8))
        #expect(throws: StateFile.NewerFormat.self) { try StateFile(path: path).load() }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == contents)
    }

    @Test func anEmptyFileIsReported() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.json")
        try FileSystem.atomicReplace(path, with: [])
        let (_, problem) = try StateFile(path: path).load()
        #expect(problem == "state file \(path) is empty; starting with a fresh state")
        #expect(try StateFile.read(path: path) == nil)
    }

    @Test func statusListsActiveAlerts() {
        var state = AlertState(lastRecord: at(2), lastError: "timeout")
        state[.failure] = RuleState(consecutive: 3, firingSince: at(2), notified: ["webhook": at(2)])
        state.owedRecoveries = [
            OwedRecovery(rule: .ping, providers: ["ntfy"], title: "t", message: "m", timestamp: at(1), since: at(1))
        ]
        let lines = StatusReport.lines(for: state, path: "/s.json")
        #expect(lines.last == "recovery owed: ping to ntfy, since 2026-05-28T20:27:40.000Z")
        #expect(lines.contains("consecutive failures: 3"))
        #expect(lines.contains("active alerts: failure"))
        #expect(lines.contains("last error: timeout"))
        #expect(
            lines.contains(
                "failure: consecutive 3, firing since 2026-05-28T20:28:40.000Z, last alert 2026-05-28T20:28:40.000Z"),
            "\(lines)")
    }

    /// A record's error is the measuring host's text: escape sequences in it must not reach
    /// the terminal of whoever runs `status`.
    @Test func statusShowsTheLastErrorWithoutControlCharacters() {
        let state = AlertState(lastRecord: at(2), lastError: "bad\u{1B}[2Jthing\nsecond line\u{7}")
        let lines = StatusReport.lines(for: state, path: "/s.json")
        #expect(lines.contains("last error: bad?[2Jthing second line?"), "\(lines)")
    }
}
