import Foundation
import HermesTestSupport
import Testing

/// What systemd does to stop the unit, or when its start timeout passes: SIGTERM to every process
/// of the pipeline at once. The run must end promptly and still leave its record in the history.
@Suite struct TerminationTests {
    /// The processes of a process group that have not exited (zombies waiting to be reaped by
    /// whoever adopted them do not count: they are done).
    static func running(inGroup group: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == group
        }
    }

    /// hermes-store writing `database` from a pipe, started as systemd starts a unit's process.
    static func startStore(_ database: String) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = try Executable.named("hermes-store").url
        process.arguments = ["--sqlite", database]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.runAsSystemdWould()
        return (process, input)
    }

    @Test func sigtermToTheWholePipelineStillStoresAndExportsTheInterruptedRun() throws {
        let silent = try TestServer.start { _ in .neverAnswer }
        defer { silent.stop() }
        let directory = try TemporaryDirectory()
        let binaries = try Executable.binaryDirectory().path
        let database = directory.file("hermes.db")
        let textfile = directory.file("hermes.prom")
        let pipeline = [
            "\(binaries)/hermes-measure --engine cloudflare --server \(silent.baseURL) --timeout 60 --state-directory \(directory.path)",
            "\(binaries)/hermes-store --sqlite \(database) --tee",
            "\(binaries)/hermes-export --textfile \(textfile) --no-spool",
        ].joined(separator: " | ")
        let process = Process()
        // A session of its own (setsid forks and waits: bash is its child and leads the session),
        // so that one kill reaches every stage, as systemd's does.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["--fork", "--wait", "/bin/bash", "-c", pipeline]
        process.standardOutput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: directory.file("stderr"), contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("stderr")))
        try process.runAsSystemdWould()
        let session = try #require(
            eventually {
                try? String(
                    contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children",
                    encoding: .utf8
                )
                .split(separator: " ").first.flatMap { Int32($0) }
            }, "bash, setsid's child")
        // The stop comes once every stage is under way: hermes-measure has asked the server (its
        // signal thread starts before that), hermes-store and hermes-export have their handlers.
        let started = eventually { () -> Bool? in
            let readers = Self.running(inGroup: session).filter {
                ["hermes-store", "hermes-export"].contains(processName($0))
            }
            return !silent.requests.isEmpty && readers.count == 2 && readers.allSatisfy { catches(SIGTERM, pid: $0) }
                ? true : nil
        }
        try #require(started == true, "the pipeline did not get under way")
        let sent = ContinuousClock.now
        kill(-session, SIGTERM)
        // Every stage gone, not just bash: the session's process group empty.
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, !Self.running(inGroup: session).isEmpty { usleep(20_000) }
        let took = ContinuousClock.now - sent
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: directory.file("stderr"), encoding: .utf8)) ?? ""
        print("TerminationTests: the pipeline ended \(took) after SIGTERM")
        // Typically 40 ms: the 2 s the stages' alarm allows is a margin of 50 times.
        #expect(took < .seconds(2), "the pipeline ended \(took) after SIGTERM: \(stderr)")
        #expect(
            try sqlite3(
                database,
                "SELECT type || ':' || error_kind || ':' || (error LIKE 'interrupted by SIGTERM%') FROM results")
                == "failure:internal:1", "the interrupted run is in the history")
        let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
        #expect(metrics.contains("\nhermes_last_run_success 0\n"))
        #expect(metrics.contains("hermes_measurement_failures_total{error_kind=\"internal\"} 1\n"))
    }

    /// A pipe reader told to stop finishes its input first: a record that arrives after the
    /// SIGTERM is still stored; and one whose input never ends is gone within 2 seconds anyway.
    @Test func hermesStoreFinishesItsInputAfterSigtermButNotForever() throws {
        let directory = try TemporaryDirectory()
        let start = Self.startStore
        let finished = directory.file("finished.db")
        let (first, firstInput) = try start(finished)
        try #require(eventually { catches(SIGTERM, pid: first.processIdentifier) ? true : nil } == true)
        kill(first.processIdentifier, SIGTERM)
        usleep(200_000)
        firstInput.fileHandleForWriting.write(Data((resultLine(1) + "\n").utf8))
        try firstInput.fileHandleForWriting.close()
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        #expect(try sqlite3(finished, "SELECT count(*) FROM results") == "1", "the record sent after SIGTERM")

        let (second, secondInput) = try start(directory.file("endless.db"))
        try #require(eventually { catches(SIGTERM, pid: second.processIdentifier) ? true : nil } == true)
        let sent = ContinuousClock.now
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
        let took = ContinuousClock.now - sent
        withExtendedLifetime(secondInput) {}
        // The alarm ends it (SIGALRM below), 2 s after the stop; the upper bound is only for a
        // loaded host to schedule the exit.
        #expect(took < .seconds(10) && took >= .milliseconds(1900), "gone 2 s after SIGTERM, took \(took)")
        #expect(second.terminationReason == .uncaughtSignal && second.terminationStatus == SIGALRM)
    }

    /// The alarm bounds the wait for input, not the work on input that came: a record read after
    /// SIGTERM whose commit is held up past the 2 s (another writer holds the database, as a slow
    /// SD card's fsync would) is still stored, and so is one that arrives while it waits. With
    /// the input then ended, the store ends normally; with the input left open, the alarm ends it
    /// once the commit is done, while its reading thread waits for more.
    @Test(arguments: [true, false])
    func aRecordBeingStoredWhenTheAlarmRingsIsNotLost(inputEnds: Bool) throws {
        let directory = try TemporaryDirectory()
        let database = directory.file("busy.db")
        let (process, input) = try Self.startStore(database)
        try #require(eventually { catches(SIGTERM, pid: process.processIdentifier) ? true : nil } == true)
        try #require(eventually { FileManager.default.fileExists(atPath: database) ? true : nil } == true)
        // Another writer takes the database for 4 s; it says when it holds the lock.
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        writer.arguments = [
            "-c",
            "import sqlite3, sys, time\n"
                + "c = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)\n"
                + "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(4); c.execute('COMMIT')",
            database,
        ]
        let said = Pipe()
        writer.standardOutput = said
        try writer.run()
        defer { writer.waitUntilExit() }
        let line = said.fileHandleForReading.readData(ofLength: 7)
        try #require(String(decoding: line, as: UTF8.self) == "locked\n", "the other writer holds the lock")
        let sent = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        input.fileHandleForWriting.write(Data((resultLine(1) + "\n").utf8))
        // A second record after the alarm has rung, while the first is still waiting to commit.
        usleep(2_800_000)
        input.fileHandleForWriting.write(Data((resultLine(2) + "\n").utf8))
        if inputEnds { try input.fileHandleForWriting.close() }
        process.waitUntilExit()
        let took = ContinuousClock.now - sent
        #expect(took >= .seconds(3), "the commit waited past the alarm, took \(took)")
        #expect(took < .seconds(30), "the grace bounds it, took \(took)")
        if inputEnds {
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        } else {
            #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGALRM)
        }
        writer.waitUntilExit()
        #expect(try sqlite3(database, "SELECT count(*) FROM results") == "2", "both records, held up past the alarm")
        withExtendedLifetime(input) {}
    }
}
