import HermesCore
import HermesTestSupport
import Testing

@testable import HermesStore

/// A database exactly as the Python Hermes v0.5 created it, with local-offset timestamps.
func makePythonHermesDatabase(at path: String, withJitterAndISP: Bool = true) throws {
    let optionalColumns = withJitterAndISP ? "jitter_ms REAL, isp_name TEXT," : ""
    _ = try sqlite(
        path,
        """
        PRAGMA journal_mode=WAL;
        CREATE TABLE IF NOT EXISTS results (
            id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL,
            download_mbps REAL NOT NULL, upload_mbps REAL NOT NULL, ping_ms REAL NOT NULL,
            \(optionalColumns) server_name TEXT NOT NULL,
            server_location TEXT NOT NULL, server_id INTEGER);
        CREATE INDEX IF NOT EXISTS idx_results_timestamp ON results(timestamp DESC);
        """)
    let jitter = withJitterAndISP ? "jitter_ms, isp_name," : ""
    func values(_ j: String, _ isp: String) -> String { withJitterAndISP ? "\(j), \(isp)," : "" }
    _ = try sqlite(
        path,
        """
        INSERT INTO results (timestamp, download_mbps, upload_mbps, ping_ms, \(jitter) server_name, server_location, server_id) VALUES
          ('2026-05-01T14:00:00.123456+02:00', 100.0, 50.0, 12.5, \(values("1.25", "'ACME'")) 'Berlin-1', 'Berlin, Germany', 1234),
          ('2026-05-01T12:30:00+00:00', 90.5, 45.0, 13.0, \(values("NULL", "NULL")) 'Berlin-1', 'Berlin, Germany', NULL),
          ('2026-05-01T08:45:00.5-04:00', 80.0, 40.0, 14.0, \(values("2.0", "'ACME \"Fibre\"'")) 'NYC', 'New York, United States', 42);
        DELETE FROM results WHERE id = 2;
        INSERT INTO results (timestamp, download_mbps, upload_mbps, ping_ms, \(jitter) server_name, server_location, server_id) VALUES
          ('2026-05-01T12:30:00+00:00', 90.5, 45.0, 13.0, \(values("NULL", "NULL")) 'Berlin-1', 'Berlin, Germany', NULL);
        """)
}

@Suite struct PythonMigrationTests {
    @Test func migratesInPlaceKeepingEveryRowAndID() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.db")
        try makePythonHermesDatabase(at: path)
        let before = try sqlite(
            path,
            "SELECT id, download_mbps, upload_mbps, ping_ms, jitter_ms, isp_name, server_name, server_location, server_id FROM results ORDER BY id"
        )

        let store = try SQLiteStore(path: path)
        let after = try sqlite(
            path,
            "SELECT id, download_mbps, upload_mbps, ping_ms, jitter_ms, isp_name, server_name, server_location, server_id FROM results ORDER BY id"
        )
        #expect(after == before)
        #expect(
            try sqlite(path, "SELECT id, timestamp, source_timestamp, type FROM results ORDER BY id") == [
                ["1", "2026-05-01T12:00:00.123Z", "2026-05-01T14:00:00.123456+02:00", "result"],
                ["3", "2026-05-01T12:45:00.500Z", "2026-05-01T08:45:00.5-04:00", "result"],
                ["4", "2026-05-01T12:30:00.000Z", "2026-05-01T12:30:00+00:00", "result"],
            ])
        #expect(try sqlite(path, "PRAGMA user_version") == [["1"]])
        #expect(try sqlite(path, "PRAGMA integrity_check") == [["ok"]])

        // In UTC the New York row (08:45-04:00) is the newest; Python's text order put it last.
        #expect(
            try store.query(RecordQuery()).map(\.timestamp.rfc3339) == [
                "2026-05-01T12:45:00.500Z", "2026-05-01T12:30:00.000Z", "2026-05-01T12:00:00.123Z",
            ])
        // New rows continue the id sequence and are stored as strings for server_id.
        try store.append([result("2026-05-02T00:00:00Z")])
        #expect(
            try sqlite(path, "SELECT max(id), typeof(server_id) FROM results WHERE id = (SELECT max(id) FROM results)")
                == [["5", "text"]])
    }

    @Test func retentionAfterMigrationIsCorrectInUTC() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.db")
        try makePythonHermesDatabase(at: path)
        let store = try SQLiteStore(path: path)
        // Cut-off 2026-05-01T12:15Z: keeps 12:30Z and 12:45Z (08:45-04:00), drops 12:00:00.123Z (14:00+02:00).
        // Python compared text and would have kept "2026-05-01T14:00..." and dropped "2026-05-01T08:45...".
        let removed = try store.applyRetention(
            RetentionPolicy(maximumAgeDays: 1), now: timestamp("2026-05-02T12:15:00Z"))
        #expect(removed == 1)
        #expect(try sqlite(path, "SELECT id FROM results ORDER BY id") == [["3"], ["4"]])
    }

    @Test func olderPythonSchemaWithoutJitterOrISP() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.db")
        try makePythonHermesDatabase(at: path, withJitterAndISP: false)
        let store = try SQLiteStore(path: path)
        let records = try store.query(RecordQuery(chronological: true))
        #expect(records.count == 3)
        guard case .result(let first) = records.first else { return }
        #expect(first.jitterMs == nil && first.ispName == nil && first.serverID == "1234" && first.downloadMbps == 100)
    }

    @Test func anUnreadableTimestampStopsTheMigrationAndChangesNothing() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.db")
        try makePythonHermesDatabase(at: path)
        _ = try sqlite(
            path,
            "INSERT INTO results (timestamp, download_mbps, upload_mbps, ping_ms, server_name, server_location) VALUES ('last tuesday', 1, 1, 1, '', '')"
        )
        let before = try sqlite(path, "SELECT * FROM results ORDER BY id")
        #expect {
            try SQLiteStore(path: path)
        } throws: { error in
            guard case StoreError.migration(_, let reason) = error else { return false }
            return reason.contains("row id 5 has timestamp \"last tuesday\"")
        }
        #expect(try sqlite(path, "SELECT * FROM results ORDER BY id") == before)
        #expect(try sqlite(path, "PRAGMA user_version") == [["0"]])
    }

    @Test func openingAgainIsANoOp() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.db")
        try makePythonHermesDatabase(at: path)
        _ = try SQLiteStore(path: path)
        let once = try sqlite(path, "SELECT * FROM results ORDER BY id")
        _ = try SQLiteStore(path: path)
        #expect(try sqlite(path, "SELECT * FROM results ORDER BY id") == once)
    }
}
