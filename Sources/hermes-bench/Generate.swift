import ArgumentParser
import HermesCore

/// `generate <count>`: benchmark input on standard output, as NDJSON for hermes-store or as SQL
/// for the sqlite3 CLI; both forms of one seed carry the same rows.
struct Generate: BenchCommand {
    static let configuration = CommandConfiguration(
        abstract: """
            Write <count> canonical v1 records, 30 minutes apart and about 2 % failures, as NDJSON or \
            as the sqlite3 INSERT statements that store the same rows.
            """)

    enum Format: String, CaseIterable, ExpressibleByArgument {
        case ndjson, sql
    }

    @Argument(help: "How many records.") var count: Int
    @Option(help: "ndjson or sql.") var format = Format.ndjson
    // hermes-store commits every 10,000 records; the SQL reference does the same work.
    @Option(help: ArgumentHelp("sql: one transaction per <n> rows.", valueName: "n")) var transactionRows = 10_000
    @Option(help: "The generator's seed.") var seed: UInt64 = 1

    func validate() throws {
        guard count >= 0 else { throw ValidationError("<count> must be 0 or more, got \(count)") }
        guard transactionRows >= 1 else { throw ValidationError("--transaction-rows must be 1 or more") }
    }

    func measure() throws(BenchError) {
        let output = BufferedOutput(fileDescriptor: 1, name: "standard output", flushThreshold: 1 << 20)
        do throws(IOError) {
            for (index, record) in RecordGenerator(count: count, seed: seed).enumerated() {
                switch format {
                case .ndjson:
                    try output.write(RecordEncoder.encode(record))
                case .sql:
                    if index % transactionRows == 0 {
                        try output.write(index == 0 ? "BEGIN IMMEDIATE;\n" : "COMMIT;\nBEGIN IMMEDIATE;\n")
                    }
                    try output.write(SQLInsert.statement(for: record))
                }
            }
            if format == .sql && count > 0 { try output.write("COMMIT;\n") }
            try output.flush()
        } catch {
            throw .io(error)
        }
    }
}
