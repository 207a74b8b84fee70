import HermesCore

/// Records in SQLite: WAL, `synchronous=NORMAL`, a busy timeout, schema versioned and migrated.
public final class SQLiteStore: RecordStore {
    public let location: String
    private let database: SQLiteDatabase
    private var insertStatement: SQLiteStatement?

    public static let busyTimeoutMilliseconds: Int32 = 10_000

    public init(path: String) throws(StoreError) {
        location = path
        try FileSystem.createParentDirectories(of: path)
        database = try SQLiteDatabase(path: path, busyTimeoutMilliseconds: Self.busyTimeoutMilliseconds)
        try database.execute("PRAGMA journal_mode = WAL")
        try database.execute("PRAGMA synchronous = NORMAL")
        // 16 MiB of page cache, allocated only as used: keeps index pages hot during bulk imports.
        try database.execute("PRAGMA cache_size = -16384")
        try SQLiteSchema.prepare(database)
    }

    public func append(_ records: [Record]) throws(StoreError) {
        guard !records.isEmpty else { return }
        let insert = try preparedInsert()
        // IMMEDIATE takes the write lock up front, so a concurrent writer waits on the busy
        // timeout instead of failing on a read-to-write upgrade.
        try database.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            for record in records {
                Self.bind(record, to: insert)
                try insert.run()
            }
            try database.execute("COMMIT")
        } catch {
            insert.reset()
            try? database.execute("ROLLBACK")
            throw error
        }
    }

    private func preparedInsert() throws(StoreError) -> SQLiteStatement {
        if let insertStatement { return insertStatement }
        let columns = SQLiteSchema.columns
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let statement = try database.prepare(
            "INSERT INTO results (\(columns.joined(separator: ", "))) VALUES (\(placeholders))")
        insertStatement = statement
        return statement
    }

    private static func bind(_ record: Record, to statement: SQLiteStatement) {
        statement.bind(1, record.timestamp)
        switch record {
        case .result(let result):
            statement.bind(2, result.downloadMbps)
            statement.bind(3, result.uploadMbps)
            statement.bind(4, result.pingMs)
            statement.bind(5, result.jitterMs)
            statement.bind(6, result.ispName)
            statement.bind(7, result.serverName)
            statement.bind(8, result.serverLocation)
            statement.bind(9, result.serverID)
            statement.bind(10, "result")
            let extensions = result.extensions
            statement.bind(13, extensions.engine)
            statement.bind(14, extensions.serverURL)
            statement.bind(15, extensions.clientIP)
            statement.bind(16, extensions.probe)
            statement.bind(17, extensions.downloadLatencyMs)
            statement.bind(18, extensions.uploadLatencyMs)
            statement.bind(19, extensions.packetLossPct)
            statement.bind(20, extensions.downloadBytes)
            statement.bind(21, extensions.uploadBytes)
            statement.bind(22, extensions.durationMs)
            statement.bind(23, extensions.streams)
        case .failure(let failure):
            statement.bind(10, "failure")
            statement.bind(11, failure.error)
            statement.bind(12, failure.errorKind.rawValue)
            statement.bind(13, failure.engine)
            statement.bind(14, failure.serverURL)
            statement.bind(16, failure.probe)
        }
    }

    public func applyRetention(_ policy: RetentionPolicy, now: Timestamp) throws(StoreError) -> Int {
        guard !policy.isUnlimited else { return 0 }
        var removed = 0
        try database.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            if let cutoff = policy.cutoff(now: now) {
                let delete = try database.prepare("DELETE FROM results WHERE timestamp < ?")
                delete.bind(1, cutoff.rfc3339)
                try delete.run()
                removed += database.changes
            }
            if let maximumRows = policy.maximumRows {
                let delete = try database.prepare(
                    """
                    DELETE FROM results WHERE id IN (
                        SELECT id FROM results ORDER BY timestamp DESC, id DESC LIMIT -1 OFFSET ?)
                    """)
                delete.bind(1, Int64(maximumRows))
                try delete.run()
                removed += database.changes
            }
            try database.execute("COMMIT")
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
        return removed
    }

    public func query(_ query: RecordQuery) throws(StoreError) -> [Record] {
        var conditions: [String] = []
        // A literal, not a parameter, so the planner can use the partial index for failures.
        if query.kinds != .all { conditions.append("type = '\(query.kinds.rawValue)'") }
        if query.since != nil { conditions.append("timestamp >= ?1") }
        if query.until != nil { conditions.append("timestamp <= ?2") }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let direction = query.chronological ? "ASC" : "DESC"
        let statement = try database.prepare(
            """
            SELECT \(SQLiteSchema.columns.joined(separator: ", ")) FROM results \(filter)
            ORDER BY timestamp \(direction), id \(direction) LIMIT ?3 OFFSET ?4
            """)
        statement.bind(1, query.since?.rfc3339)
        statement.bind(2, query.until?.rfc3339)
        statement.bind(3, Int64(query.limit ?? -1))
        statement.bind(4, Int64(query.offset))
        var records: [Record] = []
        while try statement.step() {
            records.append(try Self.record(from: statement, path: location))
        }
        statement.reset()
        return records
    }

    private static func record(from row: SQLiteStatement, path: String) throws(StoreError) -> Record {
        guard let text = row.string(0), let timestamp = try? Timestamp(rfc3339: text) else {
            throw StoreError.corrupt(path: path, reason: "a row has timestamp \"\(row.string(0) ?? "NULL")\"")
        }
        if row.string(9) == "failure" {
            let kind = row.string(11).flatMap(MeasurementFailure.ErrorKind.init(rawValue:)) ?? .internal
            return .failure(
                MeasurementFailure(
                    timestamp: timestamp, error: row.string(10) ?? "", errorKind: kind,
                    engine: row.string(12), serverURL: row.string(13), probe: row.string(15)))
        }
        let extensions = SpeedResult.Extensions(
            engine: row.string(12), serverURL: row.string(13), clientIP: row.string(14), probe: row.string(15),
            downloadLatencyMs: row.double(16), uploadLatencyMs: row.double(17), packetLossPct: row.double(18),
            downloadBytes: row.int64(19), uploadBytes: row.int64(20), durationMs: row.int64(21),
            streams: row.int64(22))
        return .result(
            SpeedResult(
                timestamp: timestamp, downloadMbps: row.double(1), uploadMbps: row.double(2),
                pingMs: row.double(3) ?? 0, jitterMs: row.double(4), ispName: row.string(5),
                serverName: row.string(6) ?? "", serverLocation: row.string(7) ?? "", serverID: row.string(8),
                extensions: extensions))
    }

    public func close() throws(StoreError) {
        insertStatement = nil
        // Folds the WAL into the database and syncs it, so what was stored survives a power cut.
        try database.execute("PRAGMA wal_checkpoint(PASSIVE)")
    }
}
