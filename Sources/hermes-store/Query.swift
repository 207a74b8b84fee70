import ArgumentParser
import Glibc
import HermesCLI
import HermesCore
import HermesStore

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print stored records, newest first.",
        discussion: """
            Reads the store named by --sqlite PATH or --csv PATH (given before or after 'query'), or \
            the default database. <time> is RFC 3339 (2026-05-01T12:00:00Z, any offset) or a duration \
            back from now: 30m, 12h, 7d, 2w, 1d12h.
            """
    )

    /// `--sqlite` and `--csv` belong to the parent command, so they work before or after `query`.
    @ParentCommand var store: HermesStoreCommand

    private var sqlitePath: String? { store.sqlitePath }
    private var csvPath: String? { store.csvPath }

    @Option(help: ArgumentHelp("Only records at or after <time>.", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only records at or before <time>.", valueName: "time"))
    var until: String?

    @Option(help: ArgumentHelp("Print at most <n> records.", valueName: "n"))
    var limit: Int?

    @Option(help: ArgumentHelp("Skip the first <n> records (for paging).", valueName: "n"))
    var offset: Int = 0

    @Option(name: .customLong("type"), help: "Which records: result, failure or all.")
    var kinds: RecordQuery.Kinds = .result

    @Option(help: ArgumentHelp("Only records of this link (the record's link field).", valueName: "name"))
    var link: String?

    @Option(help: ArgumentHelp("Only records of this server: its server_url, or its server_id.", valueName: "url|id"))
    var server: String?

    @Flag(help: "Oldest first instead of newest first.")
    var chronological = false

    @Option(help: "Output format: ndjson (canonical records), csv (Python Hermes header, results only) or table.")
    var format: QueryFormat = .ndjson

    func validate() throws {
        if sqlitePath != nil && csvPath != nil {
            throw ValidationError("query reads one store: give either --sqlite or --csv, not both")
        }
        if store.tee || store.retentionDays != nil || store.maxRows != nil {
            throw ValidationError("--tee, --retention-days and --max-rows apply when appending, not to query")
        }
        if csvPath != nil && link != nil {
            throw ValidationError(
                "--link needs the SQLite store: the Python Hermes CSV has no link column (--server matches its server_id)"
            )
        }
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more, got \(limit)") }
        if offset < 0 { throw ValidationError("--offset must be 0 or more, got \(offset)") }
        if format == .csv && kinds != .result {
            throw ValidationError(
                "--format csv carries results only; use ndjson or table with --type \(kinds.rawValue)")
        }
        _ = try window(now: .now())
    }

    private func window(now: Timestamp) throws -> (since: Timestamp?, until: Timestamp?) {
        try TimeWindow.parse(since: since, until: until, now: now)
    }

    /// The terminal's columns when standard output is one, so a table's rows fit; nil when piped.
    static func terminalColumns() -> Int? {
        guard isatty(1) == 1 else { return nil }
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    func run() throws {
        let (since, until) = try window(now: .now())
        var request = RecordQuery(
            since: since, until: until, limit: limit, offset: offset, kinds: kinds, chronological: chronological)
        (request.link, request.server) = (link, server)
        let store: any RecordStore
        do {
            if let csvPath {
                guard access(csvPath, R_OK) == 0 else {
                    throw StoreError.io(IOError(operation: "read", path: csvPath, code: errno))
                }
                store = try CSVStore(path: csvPath)
            } else {
                let path = sqlitePath ?? StoreConfiguration.defaultDatabasePath(.current())
                guard access(path, R_OK) == 0 else {
                    throw StoreError.io(IOError(operation: "read", path: path, code: errno))
                }
                store = try SQLiteStore(readingFrom: path)
            }
            let records = try store.query(request)
            if let csv = store as? CSVStore { csv.warnings.forEach(HermesStoreCommand.diagnostics.report) }
            try writeAll(format.render(records, width: Self.terminalColumns()), to: 1, name: "standard output")
        } catch let error as StoreError {
            throw HermesStoreCommand.failure(error.description, code: error.exitCode)
        } catch let error as IOError {
            throw HermesStoreCommand.failure(error.description, code: .ioError)
        }
    }
}

extension RecordQuery.Kinds: ExpressibleByArgument {}
extension QueryFormat: ExpressibleByArgument {}
