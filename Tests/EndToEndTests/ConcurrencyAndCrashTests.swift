import Foundation
import HermesTestSupport
import Testing

/// What many timer runs and a kill -9 do to the stores.
@Suite(.serialized) struct ConcurrencyAndCrashTests {
    let store: Executable
    init() throws { store = try Executable.named("hermes-store") }

    /// Runs hermes-store once per input, all at the same moment; the outcomes in input order.
    private func storeAtOnce(_ arguments: [String], inputs: [String]) -> [Executable.Outcome?] {
        let outcomes = Outcomes(count: inputs.count)
        let store = self.store
        DispatchQueue.concurrentPerform(iterations: inputs.count) { index in
            outcomes[index] = try? store.run(arguments, stdin: inputs[index])
        }
        return outcomes.all
    }

    @Test func twoWritersAtOnceLoseNothing() throws {
        let directory = try TemporaryDirectory()
        let arguments = ["--sqlite", directory.file("h.db"), "--csv", directory.file("r.csv")]
        let count = 4000
        let inputs = (0..<2).map { writer in
            (0..<count).map { resultLine($0, minute: writer) }.joined(separator: "\n")
        }
        for outcome in storeAtOnce(arguments, inputs: inputs) {
            #expect(outcome?.status == 0, "a writer failed: \(outcome?.stderr ?? "it did not run")")
        }
        #expect(
            try sqlite3(directory.file("h.db"), "SELECT count(*), count(DISTINCT timestamp) FROM results")
                == "\(2 * count)|\(2 * count)")
        let csvLines = try String(contentsOfFile: directory.file("r.csv"), encoding: .utf8).components(
            separatedBy: "\r\n")
        #expect(csvLines.count == 2 * count + 2)
        #expect(
            csvLines.dropFirst().dropLast().allSatisfy {
                $0.hasPrefix("2026-") && $0.hasSuffix(",Berlin-1,\"Berlin, Germany\",1234")
            })
    }

    /// Two timers that fire together on a new install both create the database. Switching it to
    /// WAL is answered "database is locked" at once, without SQLite's busy handler, when the
    /// other writer is doing the same (CI saw it under load); the store waits instead.
    @Test func writersThatCreateTheDatabaseTogetherAllSucceed() throws {
        let writers = 4
        for round in 0..<20 {
            let directory = try TemporaryDirectory()
            let inputs = (0..<writers).map { writer in
                (0..<20).map { resultLine($0, minute: writer) }.joined(separator: "\n")
            }
            let outcomes = storeAtOnce(["--sqlite", directory.file("h.db")], inputs: inputs)
            for outcome in outcomes {
                #expect(outcome?.status == 0, "round \(round): \(outcome?.stderr ?? "a writer did not run")")
            }
            #expect(try sqlite3(directory.file("h.db"), "SELECT count(*) FROM results") == "\(20 * writers)")
        }
    }

    @Test func aKillMidIngestLeavesIntactStores() throws {
        let directory = try TemporaryDirectory()
        let database = directory.file("h.db")
        let csv = directory.file("r.csv")
        let process = Process()
        process.executableURL = store.url
        process.arguments = ["--sqlite", database, "--csv", csv]
        let input = Pipe()
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Feed records without end until the kill; a broken pipe ends the feeder.
        signal(SIGPIPE, SIG_IGN)
        let feeder = Thread {
            var index = 0
            while true {
                let chunk = (index..<index + 500).map { resultLine($0) }.joined(separator: "\n") + "\n"
                index += 500
                do { try input.fileHandleForWriting.write(contentsOf: Data(chunk.utf8)) } catch { return }
            }
        }
        feeder.start()
        var rows = 0
        let deadline = Date().addingTimeInterval(20)
        while rows < 20_000 && Date() < deadline {
            usleep(50_000)
            rows = Int((try? sqlite3(database, "SELECT count(*) FROM results")) ?? "") ?? 0
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(rows >= 20_000, "ingest did not get going before the deadline")

        #expect(try sqlite3(database, "PRAGMA integrity_check") == "ok")
        let stored = Int(try sqlite3(database, "SELECT count(*) FROM results")) ?? 0
        #expect(stored >= rows)
        let text = try String(contentsOfFile: csv, encoding: .utf8)
        #expect(text.hasSuffix("\r\n"), "the CSV ends in a torn line")
        let lines = text.components(separatedBy: "\r\n").dropFirst().dropLast()
        #expect(lines.count + 10_000 >= stored, "CSV lags SQLite by at most one batch")
        #expect(lines.allSatisfy { $0.hasSuffix(",Berlin-1,\"Berlin, Germany\",1234") })

        // The next run appends normally after the crash.
        #expect(try store.run(["--sqlite", database, "--csv", csv], stdin: resultLine(999_999)).status == 0)
        #expect(Int(try sqlite3(database, "SELECT count(*) FROM results")) == stored + 1)
    }
}

/// Results written from several threads at once.
private final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Executable.Outcome?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    subscript(index: Int) -> Executable.Outcome? {
        get { lock.withLock { values[index] } }
        set { lock.withLock { values[index] = newValue } }
    }
    var all: [Executable.Outcome?] { lock.withLock { values } }
}
