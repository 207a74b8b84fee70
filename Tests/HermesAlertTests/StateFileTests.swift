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
        state[.failure] = RuleState(consecutive: 4, firingSince: at(3), lastNotified: at(4))
        state[.ping] = RuleState(consecutive: 1)
        let decoded = StateCoding.decode(StateCoding.encode(state))
        #expect(decoded == .success(state))
    }

    @Test func aMissingFileIsCreatedAndReported() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("nested/dir/state.json")
        let file = try StateFile(path: path)
        let (state, problem) = try file.load()
        #expect(state == AlertState())
        #expect(problem == "state file \(path) did not exist; starting with a fresh state")
        try file.save(AlertState(lastRecord: at(1)))
        #expect(try StateFile.read(path: path) == .success(AlertState(lastRecord: at(1))))
    }

    @Test(arguments: [
        ("{not json", "invalid JSON"),
        ("[]", "not a JSON object"),
        (#"{"v":2}"#, "format version 2"),
        (#"{"v":1,"last_record":"yesterday"}"#, "\"last_record\" is not an RFC 3339 time"),
        (#"{"v":1,"rules":{"failure":{"consecutive":-1}}}"#, "no valid \"consecutive\""),
    ])
    func aDamagedFileIsReplacedAndReported(contents: String, reason: String) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.json")
        try FileSystem.atomicReplace(path, with: Array(contents.utf8))
        let file = try StateFile(path: path)
        let (state, problem) = try file.load()
        #expect(state == AlertState())
        #expect(problem?.contains("is damaged") == true)
        #expect(problem?.contains(reason) == true, "\(problem ?? "nil")")
        try file.save(state)
        #expect(try StateFile.read(path: path) == .success(AlertState()))
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
        state[.failure] = RuleState(consecutive: 3, firingSince: at(2), lastNotified: at(2))
        let lines = StatusReport.lines(for: state, path: "/s.json")
        #expect(lines.contains("consecutive failures: 3"))
        #expect(lines.contains("active alerts: failure"))
        #expect(lines.contains("last error: timeout"))
        #expect(
            lines.contains(
                "failure: consecutive 3, firing since 2026-05-28T20:28:40.000Z, last alert 2026-05-28T20:28:40.000Z"),
            "\(lines)")
    }
}
