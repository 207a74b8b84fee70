import CSQLite
import Glibc
import HermesCore

/// A thin wrapper over one sqlite3 connection: statements, binding and errors in Swift terms.
final class SQLiteDatabase {
    let path: String
    private var handle: OpaquePointer?

    init(path: String, busyTimeoutMilliseconds: Int32, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        var connection: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &connection, flags, nil)
        guard status == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(connection)
            throw StoreError.cannotOpen(path: path, reason: message)
        }
        handle = connection
        sqlite3_extended_result_codes(connection, 1)
        sqlite3_busy_timeout(connection, busyTimeoutMilliseconds)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Keeps the -wal and -shm files when the last connection closes. A WAL database can only be
    /// opened read-only when they exist, so this is what lets a user who may only read the
    /// database (a dashboard, a backup job) query it.
    func persistWriteAheadLog() {
        var persist: Int32 = 1
        sqlite3_file_control(handle, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
    }

    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        if status != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_free(message)
            throw error(status, text, doing: sql)
        }
    }

    /// For the statements SQLite answers SQLITE_BUSY at once, without its busy handler: switching
    /// a new database to WAL while a second writer opens it at the same moment is one. Retried
    /// every 20 ms until the busy timeout has passed, as the handler would have waited.
    func executeWaitingWhileBusy(_ sql: String, timeoutMilliseconds: Int32) throws(StoreError) {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        while true {
            do throws(StoreError) {
                return try execute(sql)
            } catch {
                guard case .busy = error, ContinuousClock.now < deadline else { throw error }
                usleep(20_000)
            }
        }
    }

    func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw error(status, String(cString: sqlite3_errmsg(handle)), doing: sql)
        }
        return SQLiteStatement(statement, database: self)
    }

    /// One integer from a query such as `PRAGMA user_version`.
    func scalar(_ sql: String) throws(StoreError) -> Int64 {
        let statement = try prepare(sql)
        guard try statement.step() else { return 0 }
        return statement.int64(0) ?? 0
    }

    var changes: Int { Int(sqlite3_changes(handle)) }

    func lastError(_ status: Int32, doing what: String) -> StoreError {
        error(status, String(cString: sqlite3_errmsg(handle)), doing: what)
    }

    private func error(_ status: Int32, _ message: String, doing what: String) -> StoreError {
        let primary = status & 0xFF
        switch primary {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return .busy(path: path, reason: message)
        case SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH:
            return .cannotOpen(path: path, reason: message)
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return .corrupt(path: path, reason: message)
        case SQLITE_FULL:
            // The transaction rolled back: every row committed before is still there.
            return .sqlite(path: path, reason: message + IOError.advice(for: ENOSPC), statement: what)
        default:
            return .sqlite(path: path, reason: message, statement: what)
        }
    }
}

/// A prepared statement; reset after each use so it never holds a read lock.
final class SQLiteStatement {
    private let statement: OpaquePointer
    private let database: SQLiteDatabase

    init(_ statement: OpaquePointer, database: SQLiteDatabase) {
        self.statement = statement
        self.database = database
    }

    deinit {
        sqlite3_finalize(statement)
    }

    func bind(_ index: Int32, _ value: String?) {
        guard var value else {
            sqlite3_bind_null(statement, index)
            return
        }
        // withUTF8 lends the string's own bytes; passing a String would build a C string copy.
        value.withUTF8 { bytes in
            _ = bytes.withMemoryRebound(to: CChar.self) { characters in
                guard let base = characters.baseAddress, !characters.isEmpty else {
                    // A null pointer would bind SQL NULL; an empty string must stay "".
                    return sqlite3_bind_text(statement, index, "", 0, nil)
                }
                return sqlite3_bind_text(statement, index, base, Int32(characters.count), hermes_sqlite_transient())
            }
        }
    }

    /// Binds text that SQLite reads in place instead of copying (SQLITE_STATIC, a nil destructor):
    /// the bytes must stay unchanged until the statement has run. A nil pointer would bind NULL,
    /// which BindingArena never hands out.
    func bind(_ index: Int32, borrowing text: UnsafeBufferPointer<UInt8>) {
        _ = text.withMemoryRebound(to: CChar.self) { characters in
            sqlite3_bind_text(statement, index, characters.baseAddress, Int32(characters.count), nil)
        }
    }

    func bind(_ index: Int32, _ value: Double?) {
        if let value { sqlite3_bind_double(statement, index, value) } else { sqlite3_bind_null(statement, index) }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(statement, index, value) } else { sqlite3_bind_null(statement, index) }
    }

    /// Steps once; true while a row is available.
    func step() throws(StoreError) -> Bool {
        let status = sqlite3_step(statement)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = database.lastError(status, doing: String(cString: sqlite3_sql(statement)))
            sqlite3_reset(statement)
            throw error
        }
    }

    /// Runs a statement that returns no rows, then resets it for reuse.
    func run() throws(StoreError) {
        _ = try step()
        reset()
    }

    /// Runs a statement whose every parameter is bound again before its next use.
    func runKeepingBindings() throws(StoreError) {
        _ = try step()
        sqlite3_reset(statement)
    }

    func bindNull(_ index: Int32) {
        sqlite3_bind_null(statement, index)
    }

    func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(statement, column) == SQLITE_NULL
    }

    /// The text with its stored length: a NUL inside a value must not cut it short.
    func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    func double(_ column: Int32) -> Double? {
        isNull(column) ? nil : sqlite3_column_double(statement, column)
    }

    func int64(_ column: Int32) -> Int64? {
        isNull(column) ? nil : sqlite3_column_int64(statement, column)
    }
}
