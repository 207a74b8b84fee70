import Foundation
import HermesCore
import HermesTestSupport
import Testing

@testable import HermesStore

@Suite struct CSVStoreTests {
    static let header =
        "timestamp,download_mbps,upload_mbps,ping_ms,jitter_ms,isp_name,server_name,server_location,server_id\r\n"

    @Test func writesThePythonHermesHeaderAndDialect() throws {
        let directory = try TemporaryDirectory()
        let store = try CSVStore(path: directory.file("logs/results.csv"))
        let quoted = SpeedResult(
            timestamp: timestamp("2026-05-01T14:00:00.123456+02:00"), downloadMbps: 100, uploadMbps: 50, pingMs: 12.5,
            jitterMs: nil, ispName: "Test \"ISP\"", serverName: "Berlin-1", serverLocation: "Berlin, Germany",
            serverID: "1234")
        let skipped = SpeedResult(
            timestamp: timestamp("2026-05-01T12:30:00Z"), downloadMbps: nil, uploadMbps: 0.25, pingMs: 3,
            jitterMs: 0.1, ispName: nil, serverName: "a\nb", serverLocation: "", serverID: nil)
        try store.append([.result(quoted), failure("2026-05-01T12:10:00Z"), .result(skipped)])
        let text = String(decoding: try readFile(directory.file("logs/results.csv")), as: UTF8.self)
        #expect(
            text == Self.header
                + "2026-05-01T12:00:00.123Z,100.0,50.0,12.5,,\"Test \"\"ISP\"\"\",Berlin-1,\"Berlin, Germany\",1234\r\n"
                + "2026-05-01T12:30:00.000Z,,0.25,3.0,0.1,,\"a\nb\",,\r\n")
        #expect(try store.query(RecordQuery(chronological: true)) == [.result(quoted), .result(skipped)])
    }

    @Test func appendsToAnExistingPythonFileAndReadsItsRows() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("results.csv")
        let python =
            Self.header
            + "2026-05-01T14:00:00.123456+02:00,100.0,50.0,12.5,,\"Test \"\"ISP\"\"\",Berlin-1,\"Berlin, Germany\",1234\r\n"
        try Array(python.utf8).write(to: path)
        let store = try CSVStore(path: path)
        try store.append([result("2026-05-01T13:00:00Z")])
        let text = String(decoding: try readFile(path), as: UTF8.self)
        #expect(text.hasPrefix(python))
        #expect(text.components(separatedBy: "\r\n").count == 4)
        #expect(
            try store.query(RecordQuery()).map(\.timestamp.rfc3339) == [
                "2026-05-01T13:00:00.000Z", "2026-05-01T12:00:00.123Z",
            ])
        #expect(store.warnings.isEmpty)
    }

    @Test func refusesToAppendToAFileWithAnotherHeader() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("other.csv")
        try Array("name,age\r\nbob,3\r\n".utf8).write(to: path)
        #expect(throws: StoreError.self) { try CSVStore(path: path).append([result("2026-05-01T13:00:00Z")]) }
        #expect(String(decoding: try readFile(path), as: UTF8.self) == "name,age\r\nbob,3\r\n")
    }

    /// A fragment left by an interrupted writer is cut off before our rows, and said: no reader
    /// ever sees a short row.
    @Test func aTornLastLineIsRemovedAndReported() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("results.csv")
        let whole = Self.header + "2026-05-01T11:00:00.000Z,1.0,2.0,3.0,,,Berlin-1,,\r\n"
        try Array((whole + "2026-05-01T12:00:00Z,1.0,2.0,3").utf8).write(to: path)
        let store = try CSVStore(path: path)
        var reports: [String] = []
        store.report = { reports.append($0) }
        try store.append([result("2026-05-01T13:00:00Z")])
        let text = String(decoding: try readFile(path), as: UTF8.self)
        #expect(text.hasPrefix(whole))
        #expect(!text.contains("2026-05-01T12:00:00Z"))
        #expect(
            reports == [
                "\(path): removed an unfinished row of 30 byte(s) at offset \(whole.utf8.count), left by an interrupted writer"
            ])
        #expect(try store.query(RecordQuery()).count == 2)
        #expect(store.warnings.isEmpty)
    }

    /// A fragment that stopped inside a quoted cell is cut off too; a whole row that only lacks its
    /// line end (another program's last row) is kept, and ended.
    @Test func aTornQuotedCellIsRemovedAndAnUnendedWholeRowKept() throws {
        let directory = try TemporaryDirectory()
        let torn = directory.file("torn.csv")
        try Array((Self.header + "2026-05-01T12:00:00Z,1.0,2.0,3.0,,,Berlin-1,\"Berl").utf8).write(to: torn)
        let store = try CSVStore(path: torn)
        var reports: [String] = []
        store.report = { reports.append($0) }
        try store.append([result("2026-05-01T13:00:00Z"), result("2026-05-01T14:00:00Z")])
        try store.append([result("2026-05-01T15:00:00Z")])
        #expect(
            try store.query(RecordQuery()).map(\.timestamp.rfc3339) == [
                "2026-05-01T15:00:00.000Z", "2026-05-01T14:00:00.000Z", "2026-05-01T13:00:00.000Z",
            ])
        #expect(reports.count == 1, "\(reports)")
        #expect(store.warnings.isEmpty)

        let unended = directory.file("unended.csv")
        try Array((Self.header + "2026-05-01T12:00:00.000Z,1.0,2.0,3.0,,\"A, \"\"B\"\"\",Berlin-1,,").utf8).write(
            to: unended)
        let other = try CSVStore(path: unended)
        var otherReports: [String] = []
        other.report = { otherReports.append($0) }
        try other.append([result("2026-05-01T13:00:00Z")])
        #expect(otherReports.isEmpty)
        #expect(try other.query(RecordQuery()).count == 2, "the row is kept and ended, ours after it")
    }

    /// A short row in the middle (left by an older version, or another program) is skipped by a
    /// query and named by its line.
    @Test func aTornRowInTheMiddleIsSkippedWithItsLineNumber() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("results.csv")
        try Array(
            (Self.header + "2026-05-01T12:00:00Z,1.0,2.0,3\r\n" + "2026-05-01T13:00:00.000Z,1.0,2.0,3.0,,,B,,\r\n").utf8
        ).write(to: path)
        let store = try CSVStore(path: path)
        #expect(try store.query(RecordQuery()).count == 1)
        #expect(store.warnings == ["\(path):2: expected 9 cells, found 4; row kept but not read"])
    }

    /// One damaged byte that became a quote opens a cell that would run to the end of the file and
    /// take every later row with it: only its own line is lost, reported with its number, and the
    /// rows after it (a legitimate quoted cell among them) still read.
    @Test func aStrayQuoteLosesOnlyItsOwnLine() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("results.csv")
        try Array(
            (Self.header + "2026-05-01T12:00:00.000Z,1.0,2.0,3.0,,,A,,\r\n"
                + "2026-05-01T13:00:00.000Z,1.\"0,2.0,3.0,,,B,,\r\n"
                + "2026-05-01T14:00:00.000Z,1.0,2.0,3.0,,,C,\"Berlin, Germany\",\r\n"
                + "2026-05-01T15:00:00.000Z,1.0,2.0,3.0,,,D,,\r\n").utf8
        ).write(to: path)
        let store = try CSVStore(path: path)
        let names = try store.query(RecordQuery()).compactMap { record -> String? in
            guard case .result(let result) = record else { return nil }
            return result.serverName
        }
        #expect(names == ["D", "C", "A"])
        #expect(store.warnings.count == 1 && store.warnings[0].hasPrefix("\(path):3: "), "\(store.warnings)")
    }

    /// A disk that fills up mid-batch: the append fails, the file keeps exactly its whole rows
    /// (no fragment for the next run to trip on), and once there is room the next append works.
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root (CI runs as root)"))
    func aFullDiskLeavesTheFileAsItWas() throws {
        let directory = try TemporaryDirectory()
        let small = directory.file("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mounted = try ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", small])
        try #require(mounted.status == 0, "\(mounted.stderr)")
        defer { _ = try? ChildProcess.run("/bin/umount", [small]) }
        let path = small + "/results.csv"
        let store = try CSVStore(path: path)
        try store.append([result("2026-05-01T10:00:00Z")])
        // Fill what is left, but for a little room: less than the next batch needs.
        let filler = small + "/filler"
        let fill = try ChildProcess.run("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=1k", "count=1000"])
        #expect(fill.status != 0, "the disk is full")
        _ = try ChildProcess.run("/usr/bin/truncate", ["-s", "-3k", filler])
        let before = try readFile(path)
        let batch = (0..<200).map {
            result("2026-05-01T11:\(String(format: "%02d", $0 / 60)):\(String(format: "%02d", $0 % 60))Z")
        }
        #expect(throws: StoreError.self) { try store.append(batch) }
        #expect(try readFile(path) == before, "the file keeps its whole rows, nothing more")
        try FileManager.default.removeItem(atPath: filler)
        try store.append([result("2026-05-01T12:00:00Z")])
        #expect(try store.query(RecordQuery()).count == 2)
        #expect(store.warnings.isEmpty)
    }

    @Test func retentionAndQueryRefuseAFileWithAnotherHeader() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("other.csv")
        let foreign = "name,amount\nalice,1\nbob,2\ncarol,3\ndave,4\n"
        try Array(foreign.utf8).write(to: path)
        let store = try CSVStore(path: path)
        #expect(throws: StoreError.self) {
            try store.applyRetention(RetentionPolicy(maximumRows: 2), now: timestamp("2026-06-01T00:00:00Z"))
        }
        #expect(throws: StoreError.self) { try store.query(RecordQuery()) }
        #expect(String(decoding: try readFile(path), as: UTF8.self) == foreign)
    }

    @Test func unreadableRowsAreNeitherCountedNorDeletedByMaxRows() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("results.csv")
        let rows = [
            "2026-05-01T00:00:00Z,1.0,1.0,1.0,,,a,,\r\n", "garbage row\r\n",
            "2026-05-02T00:00:00Z,2.0,2.0,2.0,,,b,,\r\n",
            "2026-05-03T00:00:00Z,3.0,3.0,3.0,,,c,,\r\n",
        ]
        try Array((Self.header + rows.joined()).utf8).write(to: path)
        let store = try CSVStore(path: path)
        #expect(try store.applyRetention(RetentionPolicy(maximumRows: 2), now: timestamp("2026-06-01T00:00:00Z")) == 1)
        #expect(String(decoding: try readFile(path), as: UTF8.self) == Self.header + rows[1] + rows[2] + rows[3])
    }

    @Test func retentionByAgeKeepsRowsAndBytesExactly() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("results.csv")
        let rows = [
            "2026-05-01T01:00:00+02:00,1.0,1.0,1.0,,,old,\"a, b\",\r\n",
            "2026-05-20T12:00:00.5Z,2.0,2.0,2.0,0.5,\"I\"\"SP\",new,,7\r\n",
            "2026-05-21T23:00:00-05:00,3.0,3.0,3.0,,,newer,,\r\n",
        ]
        try Array((Self.header + rows.joined()).utf8).write(to: path)
        let store = try CSVStore(path: path)
        #expect(
            try store.applyRetention(RetentionPolicy(maximumAgeDays: 10), now: timestamp("2026-05-25T00:00:00Z")) == 1)
        #expect(String(decoding: try readFile(path), as: UTF8.self) == Self.header + rows[1] + rows[2])
    }

    @Test func retentionByRowsKeepsTheNewestInFileOrder() throws {
        let directory = try TemporaryDirectory()
        let store = try CSVStore(path: directory.file("results.csv"))
        let times = ["2026-05-03", "2026-05-01", "2026-05-05", "2026-05-02", "2026-05-04"].map { $0 + "T00:00:00Z" }
        try store.append(times.map { result($0) })
        #expect(try store.applyRetention(RetentionPolicy(maximumRows: 3), now: timestamp("2026-06-01T00:00:00Z")) == 2)
        let kept = String(decoding: try readFile(directory.file("results.csv")), as: UTF8.self)
            .components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }.map { String($0.prefix(10)) }
        #expect(kept == ["2026-05-03", "2026-05-05", "2026-05-04"])
    }

    @Test func csvParserHandlesQuotesAcrossLines() {
        let parsed = CSVFormat.parse(Array("a,\"b,\r\nc\",\"\"\"\"\r\n\r\nd,,\r\n".utf8))
        #expect(parsed.map(\.cells) == [["a", "b,\r\nc", "\""], ["d", "", ""]])
    }
}

/// glibc's wcwidth(3), which its Swift module leaves out (it is behind _XOPEN_SOURCE), looked up
/// in the process and called as the C function it is.
private let cWidth: @convention(c) (wchar_t) -> Int32 = {
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "wcwidth") else { fatalError("no wcwidth in the C library") }
    return unsafeBitCast(symbol, to: (@convention(c) (wchar_t) -> Int32).self)
}()

@Suite struct TableOutputTests {
    @Test func hugeAndTinyValuesPrintWithoutTrapping() {
        #expect(TableRenderer.fixed(1e300) == "1e+300")
        #expect(TableRenderer.fixed(0.004) == "0.00")
        #expect(TableRenderer.fixed(0.005) == "0.01")
        #expect(TableRenderer.fixed(12.345) == "12.35" || TableRenderer.fixed(12.345) == "12.34")
        #expect(TableRenderer.fixed(nil) == "-")
    }

    /// Times to the second, responsiveness in whole RPM; on a terminal of 80 columns every line,
    /// a long failure's too, is cut to 80 with "…", and piped nothing is cut.
    @Test func rowsFitTheTerminalAndShowResponsiveness() throws {
        guard case .result(var scored) = result("2026-05-01T12:03:00.250Z", server: "Frankfurt") else {
            Issue.record("a result")
            return
        }
        scored.values[.responsivenessRPM] = .number(1063.4)
        let records: [Record] = [
            .result(scored), result("2026-05-01T12:02:00Z"),
            .failure(
                MeasurementFailure(
                    timestamp: timestamp("2026-05-01T12:01:00Z"),
                    error: "could not resolve speed.cloudflare.com: temporary failure in name resolution",
                    errorKind: .dns, engine: "cloudflare")),
        ]
        let full = TableRenderer.render(records).split(separator: "\n").map(String.init)
        #expect(full[0].hasPrefix("TIME (UTC)           DOWN Mbit/s  UP Mbit/s  PING ms  JITTER ms   RPM  SERVER"))
        #expect(full[1].hasPrefix("2026-05-01 12:03:00       100.00      20.00    10.00       1.50  1063  Frankfurt"))
        #expect(full[2].contains("1.50     -  Berlin-1 (Berlin, Germany) ") && full[2].hasSuffix("  ACME"))
        #expect(full.contains { $0.count > 80 }, "wide enough to need cutting")
        #expect(full[3].hasSuffix("temporary failure in name resolution"))

        let cut = TableRenderer.render(records, width: 80).split(separator: "\n").map(String.init)
        #expect(cut.count == full.count)
        for (line, whole) in zip(cut, full) {
            #expect(line.count <= 80)
            #expect(whole.count <= 80 ? line == whole : line == whole.prefix(79) + "…")
        }
    }

    @Test(arguments: [
        ("Berlin", 6), ("Zürich", 6), ("Zu\u{308}rich", 6), ("東京", 4), ("NTTドコモ", 9), ("서울", 4),
        ("ＡＢ", 4), ("📶 LTE", 6), ("❤\u{FE0F}", 2), ("❤", 1), ("a\u{200B}b", 2), ("", 0), ("भारत", 4), ("กำ", 2),
        ("soft\u{AD}", 5),
    ])
    func columnsAreTheTerminals(text: String, columns: Int) {
        #expect(TerminalWidth.of(text) == columns, "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
    }

    /// The same widths as the C library's wcwidth(3) in a UTF-8 locale (set for this thread only),
    /// over the blocks a server's or ISP's name is likely to use.
    @Test func columnsAreTheCLibrarys() throws {
        let utf8 = try #require(newlocale(LC_CTYPE_MASK, "C.UTF-8", nil), "no C.UTF-8 locale")
        defer { freelocale(utf8) }
        let previous = uselocale(utf8)
        defer { uselocale(previous) }
        // The locale took: 東 is two columns, not unprintable.
        try #require(cWidth(0x6771) == 2, "wcwidth ignores the C.UTF-8 locale")
        let blocks: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0xA0...0x2FF, 0x300...0x36F, 0x400...0x4FF, 0x1100...0x1160, 0x3000...0x30FF,
            0x4E00...0x4FFF, 0x900...0x97F, 0xE00...0xE7F, 0xAC00...0xAD00, 0xFF00...0xFFEF, 0x1F200...0x1F265,
            0x1F300...0x1F64F,
        ]
        var differing: [String] = []
        // Not what glibc finds unprintable (unassigned).
        for value in blocks.joined() {
            let expected = Int(cWidth(wchar_t(value)))
            guard let scalar = Unicode.Scalar(value), expected >= 0 else { continue }
            let columns = TerminalWidth.of(String(Character(scalar)))
            if columns != expected {
                differing.append("\(String(value, radix: 16)): \(columns), C \(expected)")
            }
        }
        #expect(differing.isEmpty, "\(differing.prefix(20))")
    }

    /// A server or ISP in a script whose characters take two columns each keeps the columns
    /// after it aligned, and a cut line never runs past the terminal's width, though it may stop
    /// one column short rather than split a wide character.
    @Test func wideCharactersKeepTheColumnsAligned() throws {
        guard case .result(var tokyo) = result("2026-05-01T12:03:00Z", server: "東京"),
            case .result(let berlin) = result("2026-05-01T12:02:00Z", server: "Berlin-1")
        else {
            Issue.record("results")
            return
        }
        tokyo.serverLocation = "日本"
        tokyo.ispName = "ＮＴＴドコモ"
        let lines = TableRenderer.render([.result(tokyo), .result(berlin)]).split(separator: "\n").map(String.init)
        // Each column starts where its heading does: the ISP's, the last, too.
        let ispColumn = try #require(lines[0].range(of: "ISP")).lowerBound
        let columns = TerminalWidth.of(String(lines[0][..<ispColumn]))
        #expect(lines[1].hasSuffix("  ＮＴＴドコモ") && lines[2].hasSuffix("  ACME"), "\(lines)")
        for line in lines[1...] {
            let isp = try #require(line.range(of: line.hasSuffix("ACME") ? "ACME" : "ＮＴＴ")).lowerBound
            #expect(TerminalWidth.of(String(line[..<isp])) == columns, "\(lines)")
        }
        for width in 60...100 {
            for line in TableRenderer.render([.result(tokyo), .result(berlin)], width: width).split(separator: "\n") {
                let columns = TerminalWidth.of(String(line))
                #expect(columns <= width && (columns >= width - 1 || !line.hasSuffix("…")), "\(width): \(line)")
            }
        }
    }
}
