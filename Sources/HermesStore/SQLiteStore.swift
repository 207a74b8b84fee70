import HermesCore

/// Records in SQLite: WAL, `synchronous=NORMAL`, a busy timeout, schema versioned and migrated.
public final class SQLiteStore: RecordStore {
    public let location: String
    private let database: SQLiteDatabase
    private let readPlan: ReadPlan

    public static let busyTimeoutMilliseconds: Int32 = 10_000
    static let pageSize = 16_384

    /// Opens the database for reading only: no pragmas, no migration, nothing created, so a user
    /// who may only read the file (a dashboard, a backup job) can query it.
    public init(readingFrom path: String) throws(StoreError) {
        location = path
        database = try SQLiteDatabase(path: path, busyTimeoutMilliseconds: Self.busyTimeoutMilliseconds, readOnly: true)
        let version = try database.scalar("PRAGMA user_version")
        if version > SQLiteSchema.version { throw StoreError.newerSchema(path: path, version: version) }
        if version < SQLiteSchema.version { throw StoreError.needsMigration(path: path) }
        readPlan = try ReadPlan(database)
    }

    public init(path: String) throws(StoreError) {
        location = path
        try storeIO { () throws(IOError) in try FileSystem.createParentDirectories(of: path) }
        database = try SQLiteDatabase(path: path, busyTimeoutMilliseconds: Self.busyTimeoutMilliseconds)
        // Only a new, empty database takes it (before WAL mode is set). Bulk imports measured 3 %
        // fewer instructions per row with 16 KiB pages than with 4 KiB (8 and 64 KiB were in
        // between), and querying the newest rows was no slower.
        try database.execute("PRAGMA page_size = \(Self.pageSize)")
        try database.executeWaitingWhileBusy(
            "PRAGMA journal_mode = WAL", timeoutMilliseconds: Self.busyTimeoutMilliseconds)
        database.persistWriteAheadLog()
        try database.execute("PRAGMA synchronous = NORMAL")
        // 16 MiB of page cache, allocated only as used: keeps index pages hot during bulk imports.
        try database.execute("PRAGMA cache_size = -16384")
        try SQLiteSchema.prepare(database)
        readPlan = try ReadPlan(database)
    }

    public func append(_ records: [Record], durable: Bool) throws(StoreError) {
        guard !records.isEmpty else { return }
        // In WAL mode NORMAL does not sync on commit; FULL does, for this commit only.
        if durable { try database.execute("PRAGMA synchronous = FULL") }
        defer { if durable { try? database.execute("PRAGMA synchronous = NORMAL") } }
        // IMMEDIATE takes the write lock up front, so a concurrent writer waits on the busy
        // timeout instead of failing on a read-to-write upgrade.
        try database.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            // Rows go in groups of `rowsPerInsert` per statement: SQLite's per-statement work is
            // then shared, which measured about 20 % fewer instructions per row than one row each.
            var arena = BindingArena()
            // Statements outlive the arena: none may keep pointers into it once it is gone.
            defer { for statement in insertStatements.values { statement.reset() } }
            var start = 0
            while start < records.count {
                let rows = records.count - start >= Self.rowsPerInsert ? Self.rowsPerInsert : 1
                let insert = try preparedInsert(rows: rows)
                // The previous statement has run, so the texts it borrowed can be overwritten.
                arena.reset()
                for row in 0..<rows {
                    Self.bind(
                        records[start + row], to: insert, firstParameter: Int32(row * Self.bindings.count),
                        arena: &arena)
                }
                try insert.runKeepingBindings()
                start += rows
            }
            try database.execute("COMMIT")
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
    }

    static let rowsPerInsert = 32

    /// Cached INSERT statements for one row and for `rowsPerInsert` rows.
    private var insertStatements: [Int: SQLiteStatement] = [:]

    private func preparedInsert(rows: Int) throws(StoreError) -> SQLiteStatement {
        if let statement = insertStatements[rows] { return statement }
        let columns = SQLiteSchema.columns.map(\.name)
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let statement = try database.prepare(
            "INSERT INTO results (\(columns.joined(separator: ", "))) VALUES "
                + Array(repeating: row, count: rows).joined(separator: ", "))
        insertStatements[rows] = statement
        return statement
    }

    /// What each insert parameter of a row takes, in `SQLiteSchema.columns` order: plain values,
    /// so that binding a row copies no field declaration.
    private enum Binding {
        case timestamp, type, sourceTimestamp
        case value(field: Int, inResults: Bool, inFailures: Bool)
    }

    private static let bindings: [Binding] = SQLiteSchema.columns.map { column in
        switch column {
        case .type: .type
        case .sourceTimestamp: .sourceTimestamp
        case .field(let field) where field.kind == .timestamp: .timestamp
        case .field(let field):
            .value(field: field.index, inResults: field.applies(to: .result), inFailures: field.applies(to: .failure))
        }
    }

    /// The row `append` stores for `record`, column by column (without `id`): what the benchmark's
    /// reference SQL inserts, from the same bindings.
    public static func row(of record: Record) -> [(column: String, value: FieldValue)] {
        let values = record.values
        return zip(SQLiteSchema.columns, bindings).map { column, binding in
            let value: FieldValue =
                switch binding {
                case .timestamp: .text(record.timestamp.rfc3339)
                case .type: .text(record.kind.rawValue)
                case .sourceTimestamp: .absent
                case .value(let field, let inResults, let inFailures):
                    (record.kind == .result ? inResults : inFailures) ? values[slot: field] : .absent
                }
            return (column.name, value)
        }
    }

    /// Binds every column of the row, NULL where the record has nothing, so statements can be
    /// reused without clearing their bindings. Texts are copied to the arena and borrowed from it.
    private static func bind(
        _ record: Record, to statement: SQLiteStatement, firstParameter base: Int32, arena: inout BindingArena
    ) {
        let isResult = record.kind == .result
        record.values.withSlots { values in
            var parameter = base
            for binding in bindings {
                parameter += 1
                switch binding {
                case .timestamp: statement.bind(parameter, borrowing: arena.copy(record.timestamp))
                case .type: statement.bind(parameter, borrowing: arena.copy(record.kind.rawValue))
                case .sourceTimestamp: statement.bindNull(parameter)
                case .value(let field, let inResults, let inFailures):
                    guard isResult ? inResults : inFailures else {
                        statement.bindNull(parameter)
                        continue
                    }
                    switch values[field] {
                    case .absent: statement.bindNull(parameter)
                    case .text(let text): statement.bind(parameter, borrowing: arena.copy(text))
                    case .number(let number): statement.bind(parameter, number)
                    case .integer(let integer): statement.bind(parameter, integer)
                    }
                }
            }
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
        // A database from before a field has no column for it: nothing there is of a link.
        let columns = Set(readPlan.columns.map(\.name))
        if query.link != nil { conditions.append(columns.contains("link") ? "link = ?5" : "0") }
        if query.server != nil {
            let matches = ["server_url", "server_id"].filter(columns.contains).map { "\($0) = ?6" }
            conditions.append(matches.isEmpty ? "0" : "(" + matches.joined(separator: " OR ") + ")")
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let direction = query.chronological ? "ASC" : "DESC"
        let statement = try database.prepare(
            """
            SELECT \(readPlan.columns.map(\.name).joined(separator: ", ")) FROM results \(filter)
            ORDER BY timestamp \(direction), id \(direction) LIMIT ?3 OFFSET ?4
            """)
        statement.bind(1, query.since?.rfc3339)
        statement.bind(2, query.until?.rfc3339)
        statement.bind(3, Int64(query.limit ?? -1))
        statement.bind(4, Int64(query.offset))
        statement.bind(5, query.link)
        statement.bind(6, query.server)
        var records: [Record] = []
        while try statement.step() {
            records.append(try record(from: statement))
        }
        statement.reset()
        return records
    }

    /// The declared columns this database has, in the order queries select them, and where the
    /// timestamp and the kind are among them. A database opened read-only may predate a field: its
    /// column is then not selected and the field reads as absent.
    private struct ReadPlan {
        /// One selected column that holds a field: plain values, nothing to retain per row.
        struct Entry {
            let column: Int32
            let field: Int
            let kind: RecordField.Kind
            let inResults: Bool
            let inFailures: Bool
        }

        let columns: [SQLiteSchema.Column]
        let entries: [Entry]
        /// Per kind, what a NULL reads as where the record cannot do without a value: the defaulted
        /// texts (`""`), and for required fields what earlier versions read (0, `""`), so that a
        /// row this store did not write still comes back as a record.
        let resultDefaults: [(field: Int, value: FieldValue)]
        let failureDefaults: [(field: Int, value: FieldValue)]
        let timestampColumn: Int32
        let typeColumn: Int32

        init(_ database: SQLiteDatabase) throws(StoreError) {
            let existing = try PythonHermesMigration.columnNames(of: "results", in: database)
            columns = SQLiteSchema.columns.filter { existing.contains($0.name) }
            var entries: [Entry] = []
            var timestampColumn: Int32 = -1
            var typeColumn: Int32 = -1
            for (position, column) in columns.enumerated() {
                switch column {
                case .field(let field) where field.kind == .timestamp: timestampColumn = Int32(position)
                case .field(let field):
                    entries.append(
                        Entry(
                            column: Int32(position), field: field.index, kind: field.kind,
                            inResults: field.applies(to: .result), inFailures: field.applies(to: .failure)))
                case .type: typeColumn = Int32(position)
                case .sourceTimestamp: break
                }
            }
            guard timestampColumn >= 0, typeColumn >= 0 else {
                throw StoreError.corrupt(
                    path: database.path, reason: "its results table lacks the timestamp or type column")
            }
            self.entries = entries
            self.timestampColumn = timestampColumn
            self.typeColumn = typeColumn
            func defaults(_ kind: Record.Kind) -> [(field: Int, value: FieldValue)] {
                RecordSchema.fields(of: kind).compactMap { field in
                    switch field.presence {
                    case .defaulted(let text): return (field.index, .text(text))
                    case .required where field.kind == .timestamp: return nil
                    case .required where field.kind.isNumeric: return (field.index, .number(0))
                    case .required: return (field.index, .text(""))
                    case .optional, .nullable: return nil
                    }
                }
            }
            resultDefaults = defaults(.result)
            failureDefaults = defaults(.failure)
        }
    }

    private func record(from row: SQLiteStatement) throws(StoreError) -> Record {
        let plan = readPlan
        guard let text = row.string(plan.timestampColumn), let timestamp = try? Timestamp(rfc3339: text) else {
            throw StoreError.corrupt(
                path: location, reason: "a row has timestamp \"\(row.string(plan.timestampColumn) ?? "NULL")\"")
        }
        let kind: Record.Kind = row.string(plan.typeColumn) == "failure" ? .failure : .result
        var values = RecordValues()
        for entry in plan.entries where kind == .result ? entry.inResults : entry.inFailures {
            values[slot: entry.field] = row.value(entry.column, as: entry.kind)
        }
        for (field, value) in kind == .result ? plan.resultDefaults : plan.failureDefaults
        where values[slot: field].isAbsent {
            values[slot: field] = value
        }
        if kind == .failure, values[.errorKind].text.flatMap(MeasurementFailure.ErrorKind.init(rawValue:)) == nil {
            values[.errorKind] = .text(MeasurementFailure.ErrorKind.internal.rawValue)
        }
        return Record(kind: kind, timestamp: timestamp, values: values)
    }

    public func close() throws(StoreError) {
        insertStatements = [:]
        // Folds what it can of the WAL into the database without waiting for readers; durability
        // of the last records comes from their synchronous commit, not from this.
        try database.execute("PRAGMA wal_checkpoint(PASSIVE)")
    }
}
