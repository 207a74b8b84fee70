import Foundation
import HermesExport
import HermesTestSupport
import Synchronization
import Testing

/// Seeded random bytes written over every file a Hermes tool reads back on its next run (the
/// alert state, hermes-measure's back-off file, the spool, the textfile, the CSV, the database),
/// as a failing SD card or a power cut mid-write leaves them. After each: no crash, the damage
/// named on stderr with the file, the documented status, everything undamaged kept, and the file
/// whole again for an independent reader (Python's json and csv modules, promtool, sqlite3).
@Suite struct CorruptionTests {
    /// Overwrites `count` bytes at random offsets of `path` (past `protectedPrefix`) with random
    /// bytes that differ from the ones there; the offsets, for the failure message.
    static func corrupt(
        _ path: String, bytes count: Int, after protectedPrefix: Int = 0, random: inout Seeded
    ) throws -> [Int] {
        var data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        try #require(data.count > protectedPrefix + count, "\(path) is too short to damage")
        var offsets: [Int] = []
        for _ in 0..<count {
            let offset = protectedPrefix + Int(random.next(below: UInt64(data.count - protectedPrefix)))
            data[offset] ^= UInt8(1 + random.next(below: 255))
            offsets.append(offset)
        }
        try Data(data).write(to: URL(fileURLWithPath: path))
        return offsets.sorted()
    }

    static func python(_ program: String, _ arguments: [String]) throws -> ProcessOutcome {
        try ChildProcess.run("/usr/bin/python3", ["-c", program] + arguments)
    }

    static func failureLine(_ minute: Int) -> String {
        #"{"v":1,"type":"failure","timestamp":"2026-05-01T13:\#(String(format: "%02d", minute)):00.000Z","error":"down","error_kind":"connect"}"#
    }

    @Test func aDamagedAlertStateIsReportedAndReplaced() throws {
        let seed = Seeded.seed
        var random = Seeded(state: seed)
        let webhook = try TestServer.start { _ in .ok("{}") }
        defer { webhook.stop() }
        let alert = try Executable.named("hermes-alert")
        for round in 0..<6 {
            let directory = try TemporaryDirectory()
            let state = directory.file("alert.json")
            let arguments = [
                "--state", state, "--webhook-url", webhook.baseURL, "--allow-private-targets", "--failure-threshold",
                "2",
            ]
            #expect(try alert.run(arguments, stdin: Self.failureLine(0) + "\n" + Self.failureLine(1)).status == 0)
            let offsets = try Self.corrupt(state, bytes: 1 + round, random: &random)
            let next = try alert.run(arguments, stdin: Self.failureLine(2))
            let context = "seed \(seed), round \(round), bytes at \(offsets): \(next.stderr)"
            #expect(next.status == 0, "\(context)")
            // Damage JSON can still parse (a digit changed); when it does not, it is named.
            if next.stderr.contains("damaged") { #expect(next.stderr.contains(state), "\(context)") }
            let reread = try Self.python(
                "import json,sys; print(json.load(open(sys.argv[1]))['v'] >= 1)", [state])
            #expect(reread.status == 0 && reread.stdout == "True\n", "\(context): \(reread.stdout) \(reread.stderr)")
            #expect(try alert.run(["status", "--state", state]).stderr.contains("damaged") == false, "\(context)")
        }
    }

    @Test func aDamagedBackOffFileIsReportedAndReplaced() throws {
        let seed = Seeded.seed
        var random = Seeded(state: seed)
        let closed = try closedLoopbackPort()
        let measure = try Executable.named("hermes-measure")
        for round in 0..<6 {
            let directory = try TemporaryDirectory()
            let file = directory.file("measure-backoff.json")
            // A hold that has already passed, for another server: it does not stop this run.
            try
                #"{"v":1,"not_before":"2026-01-01T00:00:00.000Z","engine":"cloudflare","server_url":"http://127.0.0.1:9","strikes":2}"#
                .write(toFile: file, atomically: false, encoding: .utf8)
            let offsets = try Self.corrupt(file, bytes: 1 + round, random: &random)
            let run = try measure.run(
                [
                    "--engine", "cloudflare", "--server", "http://127.0.0.1:\(closed)", "--state-directory",
                    directory.path,
                ])
            let context = "seed \(seed), round \(round), bytes at \(offsets): \(run.stderr)"
            #expect([1, 78].contains(run.status), "\(context)")
            if run.status == 78 {
                // Only a version number made larger by the damage is left alone.
                #expect(run.stderr.contains("format version"), "\(context)")
                continue
            }
            #expect(run.stdout.split(separator: "\n").count == 1, "one failure record: \(context)")
            if run.stderr.contains("damaged") {
                #expect(run.stderr.contains(file), "\(context)")
                #expect(!FileManager.default.fileExists(atPath: file), "the damaged file is gone: \(context)")
            }
        }
    }

    @Test func aDamagedSpoolSegmentSetsAsideItsBadEntriesAndDeliversTheRest() throws {
        let seed = Seeded.seed
        var random = Seeded(state: seed)
        let up = Mutex(false)
        let delivered = Mutex(0)
        let loki = try TestServer.start(keptBodyBytes: 8 << 20) { request in
            guard up.withLock({ $0 }) else {
                return .respond(status: 503, reason: "Unavailable", headers: [], body: [])
            }
            let json = (try? Gzip.decompress(request.bodyPrefix)) ?? []
            let entries = String(decoding: json, as: UTF8.self).matches(of: /\["[0-9]+","/).count
            delivered.withLock { $0 += entries }
            return .respond(status: 204, reason: "No Content", headers: [], body: [])
        }
        defer { loki.stop() }
        let export = try Executable.named("hermes-export")
        let directory = try TemporaryDirectory()
        let spool = directory.file("spool")
        let arguments = ["--loki", loki.baseURL, "--loki-retries", "0", "--spool", spool]
        let down = try export.run(arguments, stdin: (0..<200).map { resultLine($0) }.joined(separator: "\n"))
        #expect(down.status == 0, "seed \(seed): Loki down is not an error: \(down.stderr)")
        let queues = try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasPrefix("loki-") }
        let queue = spool + "/" + (try #require(queues.first, "seed \(seed): no queue in \(spool)"))
        let segments = try FileManager.default.contentsOfDirectory(atPath: queue).filter { $0.hasSuffix(".spool") }
        try #require(segments.count == 1, "seed \(seed): \(segments)")
        let segment = queue + "/" + segments[0]
        let checker = """
            import sys, zlib
            good = bad = 0
            for line in open(sys.argv[1], 'rb').read().split(b'\\n')[:-1]:
                crc, _, payload = line.partition(b' ')
                try: ok = int(crc, 16) == zlib.crc32(payload)
                except ValueError: ok = False
                good, bad = (good + 1, bad) if ok else (good, bad + 1)
            print(good, bad)
            """
        #expect(try Self.python(checker, [segment]).stdout == "200 0\n", "Python reads the entries as we write them")
        let offsets = try Self.corrupt(segment, bytes: 3, random: &random)
        let counts = try Self.python(checker, [segment]).stdout.split(separator: " ").compactMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try #require(counts.count == 2)
        let context = "seed \(seed), bytes at \(offsets), \(counts[0]) whole entries by Python's reading"

        up.withLock { $0 = true }
        let sent = try export.run(arguments, stdin: "")
        #expect(sent.status == 65, "\(context): \(sent.stderr)")
        #expect(sent.stderr.contains(segments[0]) && sent.stderr.contains("damaged"), "\(context): \(sent.stderr)")
        #expect(delivered.withLock { $0 } == counts[0], "\(context): every whole entry delivered")
        let rejected = try FileManager.default.contentsOfDirectory(atPath: spool + "/rejected")
        #expect(rejected.count == 1, "\(context): the damaged bytes are kept aside: \(rejected)")
        let left = try FileManager.default.contentsOfDirectory(atPath: queue).filter { $0.hasSuffix(".spool") }
        #expect(left.isEmpty, "\(context): \(left)")
        let again = try export.run(arguments, stdin: resultLine(999))
        #expect(again.status == 0, "\(context): \(again.stderr)")
    }

    @Test func aDamagedTextfileIsReportedAndWrittenWholeAgain() throws {
        let seed = Seeded.seed
        var random = Seeded(state: seed)
        let promtool = try #require(
            ChildProcess.installed("promtool"), "apt-get install prometheus (scripts/test does this)")
        let export = try Executable.named("hermes-export")
        for round in 0..<6 {
            let directory = try TemporaryDirectory()
            let textfile = directory.file("hermes.prom")
            let first = try export.run(
                ["--textfile", textfile], stdin: resultLine(0) + "\n" + Self.failureLine(1))
            #expect(first.status == 0, "\(first.stderr)")
            let offsets = try Self.corrupt(textfile, bytes: 1 + round, random: &random)
            // Newer than both records before: the latest run, whatever the damage did to the old times.
            let next = try export.run(["--textfile", textfile], stdin: resultLine(100))
            let context = "seed \(seed), round \(round), bytes at \(offsets): \(next.stderr)"
            #expect(next.status == 0, "\(context)")
            if !next.stderr.isEmpty { #expect(next.stderr.contains(textfile), "\(context)") }
            let check = try ChildProcess.run(
                promtool, ["check", "metrics"], input: try String(contentsOfFile: textfile, encoding: .utf8))
            #expect(check.status == 0, "\(context): promtool: \(check.stdout) \(check.stderr)")
            let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
            #expect(metrics.contains("\nhermes_last_run_success 1\n"), "\(context)")
        }
    }

    @Test func aDamagedCSVRowIsNamedWhenReadAndAppendsStillWork() throws {
        let seed = Seeded.seed
        var random = Seeded(state: seed)
        let store = try Executable.named("hermes-store")
        for round in 0..<6 {
            let directory = try TemporaryDirectory()
            let csv = directory.file("results.csv")
            let written = try store.run(["--csv", csv], stdin: (0..<50).map { resultLine($0) }.joined(separator: "\n"))
            #expect(written.status == 0)
            let header = try [UInt8](Data(contentsOf: URL(fileURLWithPath: csv))).prefix { $0 != 0x0A }.count + 1
            let offsets = try Self.corrupt(csv, bytes: 1 + round, after: header, random: &random)
            let context = "seed \(seed), round \(round), bytes at \(offsets)"
            let query = try store.run(["query", "--csv", csv])
            #expect([0, 65].contains(query.status), "\(context): \(query.stderr)")
            let shown = query.stdout.split(separator: "\n").count
            for line in query.stderr.split(separator: "\n") {
                #expect(
                    line.hasPrefix("hermes-store: \(csv):"), "\(context): each warning names the file and line: \(line)"
                )
            }
            #expect(shown + query.stderr.split(separator: "\n").count >= 50 - round - 1, "\(context)")
            let appended = try store.run(["--csv", csv], stdin: resultLine(100))
            #expect(appended.status == 0, "\(context): \(appended.stderr)")
            // The appended row is a whole line of its own after whatever the damage left, and
            // Python's reader reads it (the damage before it may be any bytes: read as Latin-1).
            let python = try Self.python(
                "import csv,sys; last=open(sys.argv[1], newline='', encoding='latin-1').read().split('\\r\\n')[-2]; "
                    + "row=next(csv.reader([last])); print(len(row), row[1])",
                [csv])
            #expect(python.stdout == "9 100.5\n", "\(context): \(python.stdout) \(python.stderr)")
        }
    }

    @Test func aDatabaseWithADamagedHeaderIsNamedAndLeftAsItIs() throws {
        let store = try Executable.named("hermes-store")
        let directory = try TemporaryDirectory()
        let database = directory.file("hermes.db")
        #expect(try store.run(["--sqlite", database], stdin: resultLine(0)).status == 0)
        // Into the database file itself: until then the write-ahead log, which is kept, holds
        // the pages and would heal a damaged header.
        #expect(try sqlite3(database, "PRAGMA wal_checkpoint(TRUNCATE)") == "0|0|0")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: database)))
        bytes.replaceSubrange(0..<16, with: Array("Not a database!\0".utf8))
        try Data(bytes).write(to: URL(fileURLWithPath: database))
        let run = try store.run(["--sqlite", database], stdin: resultLine(1))
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("hermes-store: \(database)"), "\(run.stderr)")
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: database))) == bytes, "left as it was, for recovery")
    }
}
