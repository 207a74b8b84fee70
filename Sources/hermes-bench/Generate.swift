import HermesCore

/// `generate <count>`: benchmark input on standard output, as NDJSON for hermes-store or as SQL
/// for the sqlite3 CLI; both forms of one seed carry the same rows.
struct Generate {
    enum Format: String, CaseIterable {
        case ndjson, sql
    }

    var count: Int
    var format: Format
    var transactionRows: Int
    var seed: UInt64

    init(_ arguments: inout Arguments) throws(BenchError) {
        let countText = try arguments.operand("count")
        guard let count = Int(countText), count >= 0 else {
            throw .usage("<count> must be a whole number, got \"\(countText)\"")
        }
        self.count = count
        format = try arguments.choice("--format", default: .ndjson)
        // hermes-store commits every 10,000 records; the SQL reference does the same work.
        transactionRows = try arguments.integer("--transaction-rows", default: 10_000, in: 1...Int.max)
        seed = UInt64(try arguments.integer("--seed", default: 1, in: 0...Int.max))
        try arguments.finish()
    }

    func run() throws(BenchError) {
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
