import HermesCore

/// The `results` table: the Python Hermes columns first, then Hermes's own, versioned with
/// `PRAGMA user_version`.
///
/// `id` is a plain `INTEGER PRIMARY KEY`, not AUTOINCREMENT as in the Python Hermes: retention only
/// deletes the oldest rows, so ids are not reused in practice, and AUTOINCREMENT's bookkeeping
/// costs about 15 % of bulk-insert throughput.
enum SQLiteSchema {
    static let version: Int64 = 1

    /// A column of `results` besides `id`: a record field (named by its key), the record's kind,
    /// or the original text of a timestamp the Python Hermes migration rewrote.
    enum Column {
        case field(RecordField)
        case type
        case sourceTimestamp

        var name: String {
            switch self {
            case .field(let field): field.key
            case .type: "type"
            case .sourceTimestamp: "source_timestamp"
            }
        }

        var definition: String {
            switch self {
            case .type: return "type TEXT NOT NULL DEFAULT 'result' CHECK (type IN ('result', 'failure'))"
            case .sourceTimestamp: return "source_timestamp TEXT"
            case .field(let field):
                switch field.kind {
                case .timestamp: return "\(field.key) TEXT NOT NULL"
                case .text, .sentence, .identifier, .errorKind, .choice: return "\(field.key) TEXT"
                case .measure, .percentage: return "\(field.key) REAL"
                case .count: return "\(field.key) INTEGER"
                }
            }
        }
    }

    /// The Python Hermes columns first, then `type` and Hermes's own fields, then
    /// `source_timestamp`. A field declared later is added to existing databases as a column at
    /// the end (`addMissingColumns`), so this order is only that of a new database.
    static let columns: [Column] =
        RecordSchema.fields.filter { $0.python != nil }.map(Column.field) + [.type]
        + RecordSchema.fields.filter { $0.python == nil }.map(Column.field) + [.sourceTimestamp]

    static func createTable(named name: String) -> String {
        "CREATE TABLE \(name) (\n    id INTEGER PRIMARY KEY,\n    "
            + columns.map(\.definition).joined(separator: ",\n    ") + "\n)"
    }

    /// Adds a column for each declared field the table lacks: how a field added to the record
    /// reaches databases created before it. Older Hermes versions name their columns, so the
    /// extra ones do not disturb them.
    static func hasEveryColumn(_ database: SQLiteDatabase) throws(StoreError) -> Bool {
        let existing = try PythonHermesMigration.columnNames(of: "results", in: database)
        return columns.allSatisfy { existing.contains($0.name) }
    }

    static func addMissingColumns(_ database: SQLiteDatabase) throws(StoreError) {
        let existing = try PythonHermesMigration.columnNames(of: "results", in: database)
        for column in columns where !existing.contains(column.name) {
            try database.execute("ALTER TABLE results ADD COLUMN \(column.definition)")
        }
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
        if try database.scalar("PRAGMA user_version") == version, try hasEveryColumn(database) { return }
        try database.execute("BEGIN EXCLUSIVE")
        do throws(StoreError) {
            let current = try database.scalar("PRAGMA user_version")
            if current > version { throw StoreError.newerSchema(path: database.path, version: current) }
            if current == version { try addMissingColumns(database) }
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
        let carried = RecordSchema.fields.filter { $0.python != nil && $0.kind != .timestamp }
        let selected = carried.map { existing.contains($0.key) ? $0.key : "NULL" }
        try database.execute(SQLiteSchema.createTable(named: "results_migrating"))
        let read = try database.prepare(
            "SELECT id, timestamp, \(selected.joined(separator: ", ")) FROM results ORDER BY id")
        let write = try database.prepare(
            """
            INSERT INTO results_migrating (id, timestamp, \(carried.map(\.key).joined(separator: ", ")), type,
                source_timestamp)
            VALUES (?, ?, \(carried.map { _ in "?" }.joined(separator: ", ")), 'result', ?)
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
            for (offset, field) in carried.enumerated() {
                let column = Int32(offset + 2)
                write.bind(column + 1, read.value(column, as: field.kind))
            }
            write.bind(Int32(carried.count + 3), canonical == original ? nil : original)
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

extension SQLiteStatement {
    /// A column's value as the field of `kind` holds it; NULL is absent.
    func value(_ column: Int32, as kind: RecordField.Kind) -> FieldValue {
        switch kind {
        case .timestamp, .text, .sentence, .identifier, .errorKind, .choice: FieldValue(string(column))
        case .measure, .percentage: FieldValue(double(column))
        case .count: FieldValue(int64(column))
        }
    }

    func bind(_ parameter: Int32, _ value: FieldValue) {
        switch value {
        case .absent: bindNull(parameter)
        case .text(let text): bind(parameter, text)
        case .number(let number): bind(parameter, number)
        case .integer(let integer): bind(parameter, integer)
        }
    }
}
