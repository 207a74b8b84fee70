import HermesCore

/// The `results` table: the Python Hermes columns first, then Hermes's own, versioned with
/// `PRAGMA user_version`.
///
/// `id` is a plain `INTEGER PRIMARY KEY`, not AUTOINCREMENT as in the Python Hermes: retention only
/// deletes the oldest rows, so ids are not reused in practice, and AUTOINCREMENT's bookkeeping
/// costs about 15 % of bulk-insert throughput.
enum SQLiteSchema {
    static let version: Int64 = 1

    /// Column names in insert order; `id` is left to SQLite.
    static let columns = [
        "timestamp", "download_mbps", "upload_mbps", "ping_ms", "jitter_ms", "isp_name", "server_name",
        "server_location", "server_id", "type", "error", "error_kind", "engine", "server_url", "client_ip",
        "probe", "download_latency_ms", "upload_latency_ms", "packet_loss_pct", "download_bytes",
        "upload_bytes", "duration_ms", "streams", "source_timestamp",
    ]

    static func createTable(named name: String) -> String {
        """
        CREATE TABLE \(name) (
            id INTEGER PRIMARY KEY,
            timestamp TEXT NOT NULL,
            download_mbps REAL,
            upload_mbps REAL,
            ping_ms REAL,
            jitter_ms REAL,
            isp_name TEXT,
            server_name TEXT,
            server_location TEXT,
            server_id TEXT,
            type TEXT NOT NULL DEFAULT 'result' CHECK (type IN ('result', 'failure')),
            error TEXT,
            error_kind TEXT,
            engine TEXT,
            server_url TEXT,
            client_ip TEXT,
            probe TEXT,
            download_latency_ms REAL,
            upload_latency_ms REAL,
            packet_loss_pct REAL,
            download_bytes INTEGER,
            upload_bytes INTEGER,
            duration_ms INTEGER,
            streams INTEGER,
            source_timestamp TEXT
        )
        """
    }

    /// Timestamps are canonical UTC text of fixed width, so text order is time order and one index
    /// serves "newest N" and "older than T". Failures are a few percent of rows, so "newest N
    /// failures" gets a partial index that costs nothing when a result is inserted.
    static let createIndexes = """
        CREATE INDEX IF NOT EXISTS idx_results_timestamp ON results(timestamp);
        CREATE INDEX IF NOT EXISTS idx_results_failures ON results(timestamp) WHERE type = 'failure';
        """

    /// Brings the database at `database` to the current schema: creates it, migrates a Python
    /// Hermes table in place, or refuses a newer one. Runs in one exclusive transaction, so two
    /// processes opening a new database at once cannot both create or migrate it.
    static func prepare(_ database: SQLiteDatabase) throws(StoreError) {
        if try database.scalar("PRAGMA user_version") == version { return }
        try database.execute("BEGIN EXCLUSIVE")
        do throws(StoreError) {
            let current = try database.scalar("PRAGMA user_version")
            if current > version { throw StoreError.newerSchema(path: database.path, version: current) }
            if current < version {
                let hasResults =
                    try database.scalar(
                        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'results'") > 0
                if hasResults {
                    try PythonHermesMigration.run(database)
                } else {
                    try database.execute(createTable(named: "results"))
                }
                try database.execute(createIndexes)
                try database.execute("PRAGMA user_version = \(version)")
            }
            try database.execute("COMMIT")
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
    }
}

/// Rebuilds a Python Hermes `results` table into the current schema, keeping every row and id.
///
/// Python stored local-offset timestamps (`+02:00`) and compared them as text, so ordering and
/// retention were wrong outside UTC. Each timestamp is rewritten as canonical UTC; the original
/// text is kept in `source_timestamp` when it differs. `server_id` integers become text.
enum PythonHermesMigration {
    static func run(_ database: SQLiteDatabase) throws(StoreError) {
        let existing = try columnNames(of: "results", in: database)
        for required in ["id", "timestamp"] where !existing.contains(required) {
            throw StoreError.migration(path: database.path, reason: "its results table has no \(required) column")
        }
        let carried = [
            "download_mbps", "upload_mbps", "ping_ms", "jitter_ms", "isp_name", "server_name",
            "server_location", "server_id",
        ]
        let selected = carried.map { existing.contains($0) ? $0 : "NULL" }
        try database.execute(SQLiteSchema.createTable(named: "results_migrating"))
        let read = try database.prepare(
            "SELECT id, timestamp, \(selected.joined(separator: ", ")) FROM results ORDER BY id")
        let write = try database.prepare(
            """
            INSERT INTO results_migrating (id, timestamp, \(carried.joined(separator: ", ")), type, source_timestamp)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'result', ?)
            """)
        while try read.step() {
            let id = read.int64(0) ?? 0
            guard let original = read.string(1) else {
                throw StoreError.migration(path: database.path, reason: "row id \(id) has no timestamp")
            }
            let timestamp: Timestamp
            do {
                timestamp = try Timestamp(rfc3339: original)
            } catch {
                throw StoreError.migration(
                    path: database.path, reason: "row id \(id) has timestamp \"\(original)\", which \(error.message)")
            }
            let canonical = timestamp.rfc3339
            write.bind(1, id)
            write.bind(2, canonical)
            for column: Int32 in 2...5 { write.bind(column + 1, read.double(column)) }
            for column: Int32 in 6...9 { write.bind(column + 1, read.string(column)) }
            write.bind(11, canonical == original ? nil : original)
            try write.run()
        }
        read.reset()
        try database.execute(
            """
            DROP TABLE results;
            ALTER TABLE results_migrating RENAME TO results;
            """)
    }

    static func columnNames(of table: String, in database: SQLiteDatabase) throws(StoreError) -> Set<String> {
        let statement = try database.prepare("PRAGMA table_info(\(table))")
        var names: Set<String> = []
        while try statement.step() {
            if let name = statement.string(1) { names.insert(name) }
        }
        return names
    }
}
