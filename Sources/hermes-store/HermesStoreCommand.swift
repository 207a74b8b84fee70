import ArgumentParser
import Glibc
import HermesCLI
import HermesCore
import HermesStore

@main
struct HermesStoreCommand: HermesCommand {
    static let configuration = CommandConfiguration(
        commandName: "hermes-store",
        abstract: "Store Hermes records in SQLite and/or CSV, and query them back.",
        discussion: """
            Reads newline-delimited JSON records (Hermes v1, Python Hermes to_dict() objects or \
            Ookla speedtest json/jsonl lines) from standard input and appends them to the stores. \
            With neither --sqlite nor --csv: SQLite at $HERMES_DB, else $SQLITE_DB_PATH, else \
            hermes.db in the state directory, plus CSV at $HERMES_CSV or $CSV_LOG_PATH when set. \
            Rejected lines are reported on standard error with their line number; valid records \
            around them are still stored, and the exit status is then 65.
            """,
        version: HermesVersion.current,
        subcommands: [Query.self]
    )

    @Option(
        name: .customLong("sqlite"), help: ArgumentHelp("Append to the SQLite database at <path>.", valueName: "path"))
    var sqlitePath: String?

    @Option(
        name: .customLong("csv"),
        help: ArgumentHelp("Append results to the Python Hermes CSV file at <path>.", valueName: "path"))
    var csvPath: String?

    @Option(
        help: ArgumentHelp("After appending, delete records older than <days> days (0 keeps all).", valueName: "days"))
    var retentionDays: Int?

    @Option(
        help: ArgumentHelp("After appending, keep only the newest <rows> records (0 keeps all).", valueName: "rows"))
    var maxRows: Int?

    @Flag(help: "Write every stored record to standard output in canonical form, for the next tool in the pipe.")
    var tee = false

    func validate() throws {
        if let retentionDays, retentionDays < 0 {
            throw ValidationError("--retention-days must be 0 or more, got \(retentionDays)")
        }
        if let maxRows, maxRows < 0 { throw ValidationError("--max-rows must be 0 or more, got \(maxRows)") }
        if sqlitePath?.isEmpty == true { throw ValidationError("--sqlite needs a path") }
        if csvPath?.isEmpty == true { throw ValidationError("--csv needs a path") }
    }

    func run() throws {
        try Self.requirePipedInput()
        let configuration: StoreConfiguration
        do {
            configuration = try StoreConfiguration.resolve(
                sqlite: sqlitePath, csv: csvPath, retentionDays: retentionDays, maxRows: maxRows,
                environment: .current())
        } catch {
            throw HermesStoreCommand.failure(error.message, code: .configuration)
        }
        let destinations: [Ingest.Destination]
        do {
            destinations = try configuration.open()
        } catch {
            throw HermesStoreCommand.failure(error.description, code: error.exitCode)
        }
        let ingest = Ingest(
            destinations: destinations, tee: tee ? .standardOutput() : nil,
            diagnostics: HermesStoreCommand.diagnostics)
        let summary = ingest.run(reading: 0)
        if summary.exitCode != .success { throw ArgumentParser.ExitCode(summary.exitCode.rawValue) }
    }
}
