import Foundation
import HermesTestSupport
import Synchronization
import Testing

/// SIGKILL (a power cut, the OOM killer) and SIGTERM (systemd's stop and timeout) at seeded random
/// moments (HERMES_TEST_SEED repeats a run) while hermes-store ingests, hermes-alert delivers and
/// hermes-report writes; afterwards every file still reads whole with an independent reader (the
/// sqlite3 CLI, Python's csv module, hermes-alert status, the HTML itself), and one normal run
/// later nothing is left over. A tool sent SIGTERM is gone within 2 s.
@Suite struct KillTests {
    /// Starts `tool` with `arguments`, writes `input` (from another thread), and sends it `signal`
    /// after `delay` microseconds unless it finished. Whether it was still running then.
    static func killed(
        _ tool: String, _ arguments: [String], input: Data, after delay: UInt64, with signal: Int32 = SIGKILL
    ) throws -> Bool {
        // A write to a child killed mid-read must fail with EPIPE, not end the test runner.
        Glibc.signal(SIGPIPE, SIG_IGN)
        let process = Process()
        process.executableURL = try Executable.named(tool).url
        process.arguments = arguments
        let pipe = Pipe()
        process.standardInput = pipe
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        try process.runAsSystemdWould()
        let writer = Thread {
            // The throwing write: the child may be killed before it read everything (EPIPE).
            try? pipe.fileHandleForWriting.write(contentsOf: input)
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        usleep(useconds_t(delay))
        let wasRunning = process.isRunning
        let sent = ContinuousClock.now
        if wasRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        let took = ContinuousClock.now - sent
        // After SIGTERM a pipe reader finishes the input it has and a sender its request, with
        // alarm(2) as the backstop: it exits, or dies of the alarm, never of a later kill. The
        // bound is only for a loaded host to schedule the exit.
        #expect(!wasRunning || took < .seconds(10), "\(tool) ended \(took) after signal \(signal)")
        if wasRunning && signal == SIGTERM {
            #expect(
                process.terminationReason == .exit || process.terminationStatus == SIGALRM
                    || process.terminationStatus == SIGTERM,
                "\(tool) ended by signal \(process.terminationStatus)")
        }
        return wasRunning
    }

    static let signals = [SIGKILL, SIGTERM]

    @Test(arguments: signals) func hermesStoreKilledMidIngestKeepsWholeRows(signal: Int32) throws {
        let seed = Seeded.seed
        var random = Seeded(state: seed)
        let directory = try TemporaryDirectory()
        let database = directory.file("hermes.db")
        let csv = directory.file("results.csv")
        var next = 0
        var kills = 0
        // Two runs of the same size, unkilled: the shorter (the first starts cold) bounds the
        // delays, so that on any host, fast or loaded, the signals land while the runs are going.
        let calibration = try TemporaryDirectory()
        var delayBound = UInt64.max
        for _ in 0..<2 {
            let begun = ContinuousClock.now
            _ = try Executable.named("hermes-store").run(
                ["--sqlite", calibration.file("h.db"), "--csv", calibration.file("r.csv")],
                stdin: (0..<3000).map { resultLine($0) }.joined(separator: "\n"))
            delayBound = max(5_000, min(delayBound, UInt64((ContinuousClock.now - begun) / .microseconds(1) * 0.8)))
        }
        for _ in 0..<12 {
            let lines = (next..<next + 3000).map { resultLine($0) }.joined(separator: "\n") + "\n"
            next += 3000
            if try Self.killed(
                "hermes-store", ["--sqlite", database, "--csv", csv], input: Data(lines.utf8),
                after: random.next(below: delayBound), with: signal)
            {
                kills += 1
            }
            #expect(try sqlite3(database, "PRAGMA integrity_check") == "ok", "seed \(seed)")
        }
        let last = try Executable.named("hermes-store").run(
            ["--sqlite", database, "--csv", csv], stdin: resultLine(next))
        #expect(last.status == 0, "seed \(seed): \(last.stderr)")
        let python = try ChildProcess.run(
            "/usr/bin/python3",
            [
                "-c",
                "import csv,sys; rows=list(csv.reader(open(sys.argv[1], newline=''))); print(len(rows)-1, sorted(set(map(len, rows))))",
                csv,
            ])
        let report = python.stdout.split(separator: " ", maxSplits: 1)
        #expect(report.last == "[9]\n", "seed \(seed): every row whole, as Python reads them: \(python.stdout)")
        let csvRows = Int(report.first ?? "") ?? -1
        let stored = Int(try sqlite3(database, "SELECT count(*) FROM results")) ?? -2
        #expect(
            csvRows <= stored && csvRows > 0, "seed \(seed): SQLite holds every row the CSV has (\(csvRows), \(stored))"
        )
        #expect(kills >= 1, "seed \(seed): the signals should land mid-ingest (\(kills))")
        print(
            "KillTests: seed \(seed), hermes-store sent signal \(signal) \(kills) of 12 times; \(stored) rows in SQLite, \(csvRows) in the CSV"
        )
    }

    @Test(arguments: signals) func hermesAlertKilledMidDeliveryKeepsAReadableState(signal: Int32) throws {
        let seed = Seeded.seed
        var random = Seeded(state: seed)
        let webhook = try TestServer.start { _ in
            HermesTestSupport.sleep(for: .milliseconds(150))
            return .ok("{}")
        }
        defer { webhook.stop() }
        let directory = try TemporaryDirectory()
        let state = directory.file("alert.json")
        for index in 0..<10 {
            let failure =
                #"{"v":1,"type":"failure","timestamp":"2026-05-01T13:\#(String(format: "%02d", index)):00.000Z","error":"down","error_kind":"connect"}"#
            _ = try Self.killed(
                "hermes-alert",
                [
                    "--state", state, "--webhook-url", webhook.baseURL, "--allow-private-targets",
                    "--failure-threshold",
                    "1", "--cooldown", "0",
                ], input: Data((failure + "\n").utf8), after: random.next(below: 300_000), with: signal)
            let status = try Executable.named("hermes-alert").run(["status", "--state", state])
            #expect(
                [0, 1].contains(status.status) && !status.stdout.contains("damaged")
                    && !status.stderr.contains("damaged"),
                "seed \(seed): \(status.stdout) \(status.stderr)")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.contains(".tmp-")
        }
        let last = try Executable.named("hermes-alert").run(
            [
                "--state", state, "--webhook-url", webhook.baseURL, "--allow-private-targets", "--failure-threshold",
                "1",
            ],
            stdin:
                #"{"v":1,"type":"failure","timestamp":"2026-05-01T14:00:00.000Z","error":"down","error_kind":"connect"}"#
                + "\n")
        #expect(last.status == 0, "seed \(seed): \(last.stderr)")
        let after = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
        #expect(
            after.isEmpty,
            "seed \(seed): temporary files of killed runs are removed by the next one: \(leftovers) → \(after)")
    }

    @Test(arguments: signals) func hermesReportKilledMidWriteLeavesTheOldPageOrTheNew(signal: Int32) throws {
        let seed = Seeded.seed
        var random = Seeded(state: seed)
        let directory = try TemporaryDirectory()
        let page = directory.file("report.html")
        let records = Data(((0..<4000).map { resultLine($0) }.joined(separator: "\n") + "\n").utf8)
        for _ in 0..<8 {
            _ = try Self.killed(
                "hermes-report", ["--output", page], input: records, after: random.next(below: 600_000), with: signal)
            if FileManager.default.fileExists(atPath: page) {
                let html = try String(contentsOfFile: page, encoding: .utf8)
                #expect(html.hasSuffix("</html>\n"), "seed \(seed): a whole page or none")
            }
        }
        let last = try Executable.named("hermes-report").run(
            ["--output", page], stdin: String(decoding: records, as: UTF8.self))
        #expect(last.status == 0, "seed \(seed): \(last.stderr)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.contains(".tmp-")
        }
        #expect(leftovers.isEmpty, "seed \(seed): \(leftovers)")
    }
}
