import Foundation
import HermesTestSupport
import Testing

@Suite struct HermesStoreCommandTests {
    let store: Executable
    init() throws { store = try Executable.named("hermes-store") }

    @Test func helpAndVersionGoToStdout() throws {
        let help = try store.run(["--help"])
        #expect(help.status == 0)
        for flag in ["--sqlite", "--csv", "--retention-days", "--max-rows", "--tee", "query"] {
            #expect(help.stdout.contains(flag))
        }
        let queryHelp = try store.run(["query", "--help"])
        for flag in ["--since", "--until", "--limit", "--offset", "--type", "--chronological", "--format"] {
            #expect(queryHelp.stdout.contains(flag))
        }
        let version = try store.run(["--version"])
        #expect(
            version.status == 0
                && version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    @Test(arguments: [
        ["--bogus"], ["--max-rows", "-1"], ["--retention-days", "x"], ["query", "--since", "7x"],
        ["query", "--format", "csv", "--type", "all"], ["query", "--sqlite", "a", "--csv", "b"],
        ["query", "--type", "nope"],
    ])
    func badFlagsExit64NamingTheFlag(arguments: [String]) throws {
        let outcome = try store.run(arguments)
        #expect(outcome.status == 64)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderrLines.first?.hasPrefix("hermes-store: ") == true)
        let flag = arguments.first { $0.hasPrefix("--") && $0 != "--sqlite" } ?? ""
        #expect(
            outcome.stderr.contains(flag) || outcome.stderr.contains("--sqlite or --csv"), "stderr: \(outcome.stderr)")
    }

    @Test func aVanishedTeeReaderDoesNotStopStoring() throws {
        let directory = try TemporaryDirectory()
        let process = Process()
        process.executableURL = store.url
        process.arguments = ["--sqlite", directory.file("h.db"), "--tee"]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        try output.fileHandleForReading.close()
        input.fileHandleForWriting.write(Data(((1...3).map { resultLine($0) }.joined(separator: "\n") + "\n").utf8))
        try input.fileHandleForWriting.close()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 74)
        #expect(stderr.contains("Broken pipe; still storing, no longer passing records on"))
        #expect(try sqlite3(directory.file("h.db"), "SELECT count(*) FROM results") == "3")
    }

    @Test func aUserWhoMayOnlyReadTheDatabaseCanQueryIt() throws {
        guard getuid() == 0 else {
            print("skipped: needs root to run query as another user (CI runs as root)")
            return
        }
        let directory = try TemporaryDirectory()
        let database = directory.file("h.db")
        #expect(try store.run(["--sqlite", database], stdin: resultLine(1)).status == 0)
        chmod(directory.path, 0o755)
        chmod(database, 0o644)
        let setpriv = try Executable(url: URL(fileURLWithPath: "/usr/bin/setpriv")).run([
            "--reuid=65534", "--regid=65534", "--clear-groups", store.url.path, "query", "--sqlite", database,
        ])
        #expect(setpriv.status == 0, "stderr: \(setpriv.stderr)")
        #expect(setpriv.stdout.hasPrefix(#"{"v":1,"type":"result","timestamp":"2026-05-01T12:01:00.000Z""#))
    }

    @Test func ingestStoresGoodLinesReportsBadOnesAndTees() throws {
        let directory = try TemporaryDirectory()
        let input = [resultLine(1), "{\"v\":1,\"type\":\"result\"}", resultLine(2), "not json", resultLine(3)].joined(
            separator: "\n")
        let outcome = try store.run(
            ["--sqlite", directory.file("h.db"), "--csv", directory.file("r.csv"), "--tee"], stdin: input)
        #expect(outcome.status == 65)
        try #require(outcome.stderrLines.count == 3)
        #expect(outcome.stderrLines[0].hasPrefix("hermes-store: line 2: missing required field \"timestamp\""))
        #expect(outcome.stderrLines[1].hasPrefix("hermes-store: line 4: invalid JSON"))
        #expect(outcome.stderrLines[2] == "hermes-store: 2 line(s) rejected; 3 record(s) stored")
        #expect(outcome.stdout.split(separator: "\n").count == 3)
        #expect(outcome.stdout.hasPrefix(#"{"v":1,"type":"result","timestamp":"2026-05-01T12:01:00.000Z""#))
        #expect(try sqlite3(directory.file("h.db"), "SELECT count(*) FROM results") == "3")
        let csv = try String(contentsOfFile: directory.file("r.csv"), encoding: .utf8)
        #expect(
            csv.hasPrefix(
                "timestamp,download_mbps,upload_mbps,ping_ms,jitter_ms,isp_name,server_name,server_location,server_id\r\n"
            ))
        #expect(csv.contains("\"ACME, \"\"Fibre\"\"\""))
    }

    @Test func unwritableOutputsExit73And74() throws {
        let directory = try TemporaryDirectory()
        let noDirectory = try store.run(["--sqlite", "/proc/hermes-test/h.db"], stdin: resultLine(1))
        #expect(noDirectory.status == 73)
        #expect(noDirectory.stderr.hasPrefix("hermes-store: cannot create directory for /proc/hermes-test"))
        let isDirectory = try store.run(["--csv", directory.path], stdin: resultLine(1))
        #expect(isDirectory.status == 73)
        let full = try store.run(["--csv", "/dev/full"], stdin: resultLine(1))
        #expect(full.status == 74)
        #expect(full.stderr.contains("No space left on device"))
        #expect(full.stderr.contains("free space on that file system"), "and what to do about it")
        #expect(!full.stderr.contains("could not cut off"))
    }

    /// A file system that fills up under hermes-store: exit 74 with the file and what to do, the
    /// database intact with every row committed before (PRAGMA integrity_check, by the sqlite3
    /// CLI), the CSV with only whole rows (Python's csv module), no temporary file left; with
    /// room again, the next run stores as always.
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root (CI runs as root)"))
    func aFullDiskLosesNothingStoredAndTheNextRunCatchesUp() throws {
        let directory = try TemporaryDirectory()
        let small = directory.file("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mounted = try ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", small])
        try #require(mounted.status == 0, "\(mounted.stderr)")
        defer { _ = try? ChildProcess.run("/bin/umount", [small]) }
        let arguments = ["--sqlite", small + "/hermes.db", "--csv", small + "/results.csv"]
        let first = try store.run(arguments, stdin: (1...10).map { resultLine($0) }.joined(separator: "\n"))
        try #require(first.status == 0, "\(first.stderr)")
        let filler = small + "/filler"
        _ = try ChildProcess.run("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=4k", "count=1000"])
        _ = try ChildProcess.run("/usr/bin/truncate", ["-s", "-8k", filler])
        let big = (11...3000).map { resultLine($0) }.joined(separator: "\n")
        let full = try store.run(arguments, stdin: big)
        #expect(full.status == 74, "\(full.stderr)")
        #expect(full.stderr.contains(small), "names the file: \(full.stderr)")
        #expect(full.stderr.contains("free space on that file system"), "says what to do: \(full.stderr)")
        #expect(try sqlite3(small + "/hermes.db", "PRAGMA integrity_check") == "ok")
        let rows = Int(try sqlite3(small + "/hermes.db", "SELECT count(*) FROM results")) ?? -1
        #expect(rows >= 10, "every row committed before is there: \(rows)")
        let python = try ChildProcess.run(
            "/usr/bin/python3",
            [
                "-c",
                "import csv,sys; rows=list(csv.reader(open(sys.argv[1], newline=''))); print(len(rows)-1, set(map(len, rows)))",
                small + "/results.csv",
            ])
        #expect(python.stdout.hasSuffix("{9}\n"), "whole rows only, as Python reads them: \(python.stdout)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: small).filter { $0.contains(".tmp") }
        #expect(leftovers.isEmpty)

        try FileManager.default.removeItem(atPath: filler)
        let next = try store.run(arguments, stdin: resultLine(4000))
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try sqlite3(small + "/hermes.db", "PRAGMA integrity_check") == "ok")
        #expect(Int(try sqlite3(small + "/hermes.db", "SELECT count(*) FROM results")) == rows + 1)
    }

    @Test func environmentChoosesStoresAndRetentionLikeThePythonHermes() throws {
        let directory = try TemporaryDirectory()
        let environment = [
            "SQLITE_DB_PATH": directory.file("data/hermes.db"), "CSV_LOG_PATH": directory.file("logs/results.csv"),
            "SQLITE_MAX_ROWS": "2", "CSV_MAX_ROWS": "0",
        ]
        let input = (1...5).map { resultLine($0) }.joined(separator: "\n")
        #expect(try store.run([], stdin: input, environment: environment).status == 0)
        #expect(try sqlite3(directory.file("data/hermes.db"), "SELECT count(*) FROM results") == "2")
        let csv = try String(contentsOfFile: directory.file("logs/results.csv"), encoding: .utf8)
        #expect(csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 6)

        let state = try store.run([], stdin: resultLine(1), environment: ["STATE_DIRECTORY": directory.file("state")])
        #expect(state.status == 0)
        #expect(try sqlite3(directory.file("state/hermes.db"), "SELECT count(*) FROM results") == "1")
        #expect(
            try store.run(["query"], environment: ["STATE_DIRECTORY": directory.file("state")]).stdout.split(
                separator: "\n"
            ).count == 1)

        let bad = try store.run(
            [], stdin: resultLine(1), environment: ["HERMES_DB": directory.file("x.db"), "SQLITE_MAX_ROWS": "lots"])
        #expect(bad.status == 78)
        #expect(bad.stderr == "hermes-store: environment variable SQLITE_MAX_ROWS=lots is not a non-negative integer\n")
    }

    /// On a terminal of 80 columns, a table's rows are cut to fit with "…"; the same query piped
    /// is not cut.
    @Test func aTableOnATerminalFitsItsWidth() throws {
        let directory = try TemporaryDirectory()
        let database = directory.file("h.db")
        let failure =
            #"{"v":1,"type":"failure","timestamp":"2026-05-01T12:02:30Z","error":"could not resolve speed.cloudflare.com: temporary failure in name resolution","error_kind":"dns"}"#
        #expect(try store.run(["--sqlite", database], stdin: resultLine(1) + "\n" + failure).status == 0)
        let arguments = ["query", "--sqlite", database, "--type", "all", "--format", "table"]
        let piped = try store.run(arguments).stdout.split(separator: "\n").map(String.init)
        try #require(piped.count == 3)
        #expect(piped.contains { $0.count > 80 })
        #expect(!piped.joined().contains("…"))

        let shown = try runOnTerminal(store.url.path, arguments, columns: 80)
        try #require(shown.status == 0, "\(shown.stderr)")
        // The terminal turns each "\n" into "\r\n".
        let lines = shown.stdout.split(separator: "\r\n").map(String.init)
        #expect(lines.count == 3)
        for (line, whole) in zip(lines, piped) {
            #expect(whole.count <= 80 ? line == whole : line == whole.prefix(79) + "…", "\(line)")
        }
    }

    @Test func queryPagesFiltersAndFormats() throws {
        let directory = try TemporaryDirectory()
        let database = directory.file("h.db")
        let failure =
            #"{"v":1,"type":"failure","timestamp":"2026-05-01T12:02:30Z","error":"connection refused by 127.0.0.1:9","error_kind":"connect"}"#
        let input = ((1...6).map { resultLine($0) } + [failure]).joined(separator: "\n")
        #expect(try store.run(["--sqlite", database], stdin: input).status == 0)

        let latest = try store.run(["query", "--sqlite", database, "--limit", "1"])
        #expect(latest.status == 0)
        #expect(latest.stdout.hasPrefix(#"{"v":1,"type":"result","timestamp":"2026-05-01T12:06:00.000Z""#))

        let page = try store.run(["query", "--sqlite", database, "--limit", "2", "--offset", "2", "--chronological"])
        #expect(
            page.stdout.split(separator: "\n").map { String($0.dropFirst(36).prefix(24)) } == [
                "2026-05-01T12:03:00.000Z", "2026-05-01T12:04:00.000Z",
            ])

        let window = try store.run([
            "query", "--sqlite", database, "--since", "2026-05-01T14:02:00+02:00", "--until", "2026-05-01T12:03:00Z",
            "--type", "all", "--format", "table",
        ])
        let rows = window.stdout.split(separator: "\n")
        try #require(rows.count == 4)
        #expect(rows[0].hasPrefix("TIME (UTC)"))
        #expect(rows[1].hasPrefix("2026-05-01 12:03:00     "))
        #expect(rows[2].contains("FAILED (connect): connection refused by 127.0.0.1:9"))
        #expect(rows[3].hasPrefix("2026-05-01 12:02:00     "))
        #expect(rows[3].contains("2.50") && rows[3].contains("Berlin-1 (Berlin, Germany)"))

        let csv = try store.run(["query", "--sqlite", database, "--format", "csv", "--limit", "1"])
        #expect(csv.stdout.hasSuffix(",Berlin-1,\"Berlin, Germany\",1234\r\n"))

        let recent = try store.run(["query", "--sqlite", database, "--since", "1h"])
        #expect(recent.status == 0 && recent.stdout.isEmpty)

        let missing = try store.run(["query", "--sqlite", directory.file("none.db")])
        #expect(missing.status == 74)
        #expect(missing.stderr.contains("none.db: No such file or directory"))
        #expect(!FileManager.default.fileExists(atPath: directory.file("none.db")))
    }

    @Test func aPythonHermesDatabaseIsMigratedOnFirstUse() throws {
        let directory = try TemporaryDirectory()
        let database = directory.file("hermes.db")
        _ = try sqlite3(
            database,
            """
            CREATE TABLE results (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL,
              download_mbps REAL NOT NULL, upload_mbps REAL NOT NULL, ping_ms REAL NOT NULL, jitter_ms REAL,
              isp_name TEXT, server_name TEXT NOT NULL, server_location TEXT NOT NULL, server_id INTEGER);
            CREATE INDEX idx_results_timestamp ON results(timestamp DESC);
            INSERT INTO results (timestamp, download_mbps, upload_mbps, ping_ms, jitter_ms, isp_name, server_name, server_location, server_id)
              VALUES ('2026-05-01T14:00:00.123456+02:00', 100.0, 50.0, 12.5, NULL, 'ACME', 'Berlin-1', 'Berlin, Germany', 1234);
            """)
        // query only reads: it explains how to migrate instead of writing the file itself.
        let before = try store.run(["query", "--sqlite", database])
        #expect(before.status == 78)
        #expect(before.stderr.contains("migrate it once with: hermes-store --sqlite \(database) < /dev/null"))
        #expect(try sqlite3(database, "PRAGMA user_version") == "0")
        #expect(try store.run(["--sqlite", database]).status == 0)
        let outcome = try store.run(["query", "--sqlite", database])
        #expect(outcome.status == 0)
        #expect(
            outcome.stdout
                == #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00.123Z","download_mbps":100.0,"upload_mbps":50.0,"ping_ms":12.5,"jitter_ms":null,"isp_name":"ACME","server_name":"Berlin-1","server_location":"Berlin, Germany","server_id":"1234"}"#
                + "\n")
        #expect(try sqlite3(database, "PRAGMA user_version") == "1")
    }

    @Test func ooklaJSONLPipesStraightIn() throws {
        let directory = try TemporaryDirectory()
        let lines = [
            #"{"type":"testStart","timestamp":"2024-03-01T01:00:00Z"}"#,
            #"{"type":"result","timestamp":"2024-03-01T01:00:30Z","ping":{"jitter":0.5,"latency":9.8},"download":{"bandwidth":12500000,"bytes":1,"elapsed":1},"upload":{"bandwidth":2500000,"bytes":1,"elapsed":1},"isp":"ACME","server":{"id":1,"name":"X","location":"Oslo","country":"Norway"}}"#,
            #"{"type":"log","timestamp":"2024-03-01T02:00:00Z","message":"Limit reached: Speedtest CLI. Too many requests received.","level":"error"}"#,
        ]
        #expect(try store.run(["--sqlite", directory.file("h.db")], stdin: lines.joined(separator: "\n")).status == 0)
        #expect(
            try sqlite3(
                directory.file("h.db"),
                "SELECT type, download_mbps, upload_mbps, server_location, error_kind FROM results ORDER BY timestamp")
                == "result|100.0|20.0|Oslo, Norway|\nfailure||||rate_limited")
    }
}
