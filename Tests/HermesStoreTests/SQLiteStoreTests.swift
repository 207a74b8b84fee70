import HermesCore
import HermesTestSupport
import Testing

@testable import HermesStore

@Suite struct SQLiteStoreTests {
    @Test func recordsRoundTripThroughTheDatabase() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("nested/dir/hermes.db"))
        var full = SpeedResult(
            timestamp: timestamp("2026-05-01T12:00:00.123Z"), downloadMbps: 931.4, uploadMbps: nil, pingMs: 9.8,
            jitterMs: nil, ispName: nil, serverName: "", serverLocation: "", serverID: nil)
        full.extensions = .init(
            engine: "librespeed", serverURL: "http://127.0.0.1:8080/", clientIP: "::1", probe: "pi",
            downloadLatencyMs: 40, uploadLatencyMs: 80, packetLossPct: 0.5, downloadBytes: 1 << 40, uploadBytes: 7,
            durationMs: 21_000, streams: 8)
        let records: [Record] = [
            .result(full), failure("2026-05-01T12:30:00Z", kind: .rateLimited), result("2026-05-01T11:00:00Z"),
        ]
        try store.append(records)
        let back = try store.query(RecordQuery(kinds: .all, chronological: true))
        #expect(back == [records[2], records[0], records[1]])
        try store.close()
        #expect(try sqlite(directory.file("nested/dir/hermes.db"), "PRAGMA user_version") == [["1"]])
        #expect(try sqlite(directory.file("nested/dir/hermes.db"), "PRAGMA journal_mode") == [["wal"]])
        #expect(
            try sqlite(directory.file("nested/dir/hermes.db"), "PRAGMA page_size") == [[String(SQLiteStore.pageSize)]])
        // Empty strings stay text, unmeasured values stay NULL.
        #expect(
            try sqlite(
                directory.file("nested/dir/hermes.db"),
                "SELECT typeof(server_name), typeof(server_location), typeof(upload_mbps), typeof(isp_name), timestamp FROM results WHERE engine = 'librespeed'"
            )
                == [["text", "text", "null", "null", "2026-05-01T12:00:00.123Z"]])
    }

    @Test func batchesLargerThanOneStatementKeepEveryRowIntact() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("h.db"))
        let count = SQLiteStore.rowsPerInsert * 3 + 5
        let records: [Record] = (0..<count).map { index in
            let time = Timestamp(millisecondsSinceEpoch: 1_777_636_800_000 + Int64(index) * 1000).rfc3339
            return index % 7 == 3
                ? failure(time) : result(time, download: Double(index), upload: index % 5 == 0 ? nil : 1)
        }
        try store.append(records)
        #expect(try store.query(RecordQuery(kinds: .all, chronological: true)) == records)
        #expect(
            try sqlite(
                directory.file("h.db"),
                "SELECT count(*) FROM results WHERE type = 'failure' AND download_mbps IS NOT NULL") == [["0"]])
    }

    /// Texts are bound from BindingArena: long ones fill its chunks, longer than a chunk ones get an
    /// allocation of their own, and the same store appends again after reusing them.
    @Test func longTextsSurviveBindingWithoutCopies() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("h.db"))
        let lengths = [0, 1, 70_000, 3_000, 200_000] + Array(repeating: 5_000, count: SQLiteStore.rowsPerInsert * 2)
        let records: [Record] = lengths.enumerated().map { index, length in
            let time = Timestamp(millisecondsSinceEpoch: 1_777_636_800_000 + Int64(index) * 1000)
            let text = String(repeating: String(UnicodeScalar(UInt8(0x61 + index % 26))), count: length)
            return index % 3 == 0
                ? .failure(
                    MeasurementFailure(timestamp: time, error: "e" + text, errorKind: .http, probe: text))
                : .result(
                    SpeedResult(
                        timestamp: time, downloadMbps: 1, uploadMbps: nil, pingMs: 2, ispName: text,
                        serverName: text, serverLocation: "Zürich " + text, serverID: nil))
        }
        try store.append(records)
        try store.append(Array(records.reversed()))
        let back = try store.query(RecordQuery(kinds: .all, chronological: true))
        #expect(back.count == records.count * 2)
        #expect(back == records.flatMap { [$0, $0] })
    }

    @Test func textWithANulCharacterComesBackWhole() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("h.db"))
        let record = Record.result(
            SpeedResult(
                timestamp: timestamp("2026-05-01T12:00:00Z"), downloadMbps: 1, uploadMbps: 1, pingMs: 1,
                ispName: "ACME\u{0} Fibre", serverName: "é 😀", serverLocation: "", serverID: nil))
        try store.append([record], durable: true)
        #expect(try store.query(RecordQuery()) == [record])
    }

    @Test func readingNeedsAMigratedDatabaseAndWritesNothing() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.db")
        try makePythonHermesDatabase(at: path)
        #expect(throws: StoreError.needsMigration(path: path)) { try SQLiteStore(readingFrom: path) }
        #expect(StoreError.needsMigration(path: path).exitCode == .configuration)
        #expect(try sqlite(path, "PRAGMA user_version") == [["0"]])
        _ = try SQLiteStore(path: path)
        #expect(try SQLiteStore(readingFrom: path).query(RecordQuery()).count == 3)
    }

    @Test func newestFirstWithPagingAndTimeFilters() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("h.db"))
        let records = (0..<10).map {
            result("2026-05-01T\(String(format: "%02d", 10 + $0)):00:00Z", download: Double($0))
        }
        try store.append(records.shuffled() + [failure("2026-05-01T15:30:00Z")])
        func downloads(_ query: RecordQuery) throws -> [Double?] {
            try store.query(query).map { if case .result(let r) = $0 { r.downloadMbps } else { -1 } }
        }
        #expect(try downloads(RecordQuery(limit: 1)) == [9])
        #expect(try downloads(RecordQuery(limit: 3, offset: 3)) == [6, 5, 4])
        #expect(try downloads(RecordQuery(limit: 2, chronological: true)) == [0, 1])
        #expect(
            try downloads(
                RecordQuery(since: timestamp("2026-05-01T13:00:00Z"), until: timestamp("2026-05-01T15:00:00Z")))
                == [5, 4, 3])
        #expect(try downloads(RecordQuery(kinds: .failure)) == [-1])
        #expect(try downloads(RecordQuery(limit: 2, kinds: .all)) == [9, 8])
        #expect(
            try downloads(
                RecordQuery(
                    since: timestamp("2026-05-01T15:00:00Z"), until: timestamp("2026-05-01T16:00:00Z"), kinds: .all))
                == [6, -1, 5])
        #expect(try downloads(RecordQuery(offset: 20)) == [])
    }

    @Test func newestQueriesUseTheIndexes() throws {
        let directory = try TemporaryDirectory()
        _ = try SQLiteStore(path: directory.file("h.db"))
        func plan(_ sql: String) throws -> String {
            try sqlite(directory.file("h.db"), "EXPLAIN QUERY PLAN " + sql).compactMap { $0.last ?? nil }.joined(
                separator: "; ")
        }
        #expect(
            try plan("SELECT * FROM results WHERE type = 'result' ORDER BY timestamp DESC, id DESC LIMIT 50").contains(
                "USING INDEX idx_results_timestamp"))
        #expect(
            try plan("SELECT * FROM results WHERE type = 'failure' ORDER BY timestamp DESC, id DESC LIMIT 50").contains(
                "USING INDEX idx_results_failures"))
        #expect(try plan("DELETE FROM results WHERE timestamp < 'x'").contains("idx_results_timestamp"))
        #expect(
            try !plan("SELECT * FROM results ORDER BY timestamp DESC, id DESC LIMIT 50").contains(
                "TEMP B-TREE FOR ORDER BY"))
    }

    @Test func retentionByAgeAndByRows() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("h.db"))
        let now = timestamp("2026-05-31T12:00:00Z")
        try store.append(
            (1...30).map { result("2026-05-\(String(format: "%02d", $0))T12:00:00Z") } + [
                failure("2026-05-02T00:00:00Z")
            ])
        #expect(try store.applyRetention(RetentionPolicy(maximumAgeDays: 10), now: now) == 21)
        let remaining = try store.query(RecordQuery(kinds: .all, chronological: true))
        #expect(remaining.first?.timestamp == timestamp("2026-05-21T12:00:00Z"))
        #expect(remaining.count == 10)
        #expect(try store.applyRetention(RetentionPolicy(maximumRows: 4), now: now) == 6)
        #expect(
            try store.query(RecordQuery(kinds: .all)).map(\.timestamp.rfc3339) == [
                "2026-05-30T12:00:00.000Z", "2026-05-29T12:00:00.000Z", "2026-05-28T12:00:00.000Z",
                "2026-05-27T12:00:00.000Z",
            ])
        #expect(try store.applyRetention(RetentionPolicy(), now: now) == 0)
        // An age beyond year 1 (or beyond Int64 milliseconds) keeps everything instead of trapping.
        #expect(try store.applyRetention(RetentionPolicy(maximumAgeDays: 800_000), now: now) == 0)
        #expect(try store.applyRetention(RetentionPolicy(maximumAgeDays: .max), now: now) == 0)
    }

    @Test func aNewerSchemaIsRefused() throws {
        let directory = try TemporaryDirectory()
        _ = try sqlite(
            directory.file("h.db"),
            "CREATE TABLE results (id INTEGER PRIMARY KEY, timestamp TEXT); PRAGMA user_version = 7;")
        #expect(throws: StoreError.newerSchema(path: directory.file("h.db"), version: 7)) {
            try SQLiteStore(path: directory.file("h.db"))
        }
        #expect(StoreError.newerSchema(path: "x", version: 7).exitCode == .configuration)
    }

    @Test func aFileThatIsNotADatabaseIsReportedNotOverwritten() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("h.db")
        try Array(String(repeating: "not a database\n", count: 100).utf8).write(to: path)
        #expect(throws: StoreError.self) { try SQLiteStore(path: path) }
        #expect(try readFile(path) == Array(String(repeating: "not a database\n", count: 100).utf8))
    }
}

extension Array where Element == UInt8 {
    func write(to path: String) throws {
        try FileSystem.atomicReplace(path, with: self)
    }
}
