import HermesCore

#if canImport(Glibc)
    import Glibc
#endif

/// The timing harness behind `scripts/bench`; not installed for users. It makes benchmark input
/// and times library calls in-process, printing one `key=value` line for the script to read.
@main
struct HermesBench {
    static let usage = """
        usage: hermes-bench generate <count> [--format ndjson|sql] [--transaction-rows <n>] [--seed <n>]
               hermes-bench query <database> [--limit <n>] [--runs <n>]
               hermes-bench retention <database> --remove-oldest <n>
               hermes-bench append <database> <count> [--seed <n>]

          generate   write <count> canonical v1 records, 30 minutes apart and about 2 % failures,
                     as NDJSON or as the sqlite3 INSERT statements that store the same rows
                     (sql: one transaction per --transaction-rows rows, default 10000)
          query      open the SQLite store once and time query(RecordQuery(limit:)), newest
                     results first, --runs times (default 2000, limit 50)
          retention  apply an age limit placed so that exactly the oldest <n> records go, and
                     time applyRetention and close
          append     store <count> generated records in a new database with SQLiteStore.append,
                     10000 per call, timing only append and close (ingest without decoding)

        """

    static func main() {
        let words = Array(CommandLine.arguments.dropFirst())
        if words.isEmpty || words.contains("--help") || words.contains("-h") {
            let (descriptor, name) = words.isEmpty ? (Int32(2), "standard error") : (Int32(1), "standard output")
            try? writeAll(Array(usage.utf8), to: descriptor, name: name)
            exit(words.isEmpty ? ExitCode.usage.rawValue : 0)
        }
        do throws(BenchError) {
            var arguments = try Arguments(words.dropFirst())
            switch words[0] {
            case "generate": try Generate(&arguments).run()
            case "query": try QueryTiming(&arguments).run()
            case "retention": try RetentionTiming(&arguments).run()
            case "append": try AppendTiming(&arguments).run()
            default: throw .usage("unknown command \"\(words[0])\"")
            }
        } catch {
            Diagnostics(tool: "hermes-bench").report(error.message)
            if case .usage = error { try? writeAll(Array(usage.utf8), to: 2, name: "standard error") }
            exit(error.exitCode.rawValue)
        }
    }
}

/// Prints one `key=value key=value` line on standard output.
func report(_ fields: KeyValuePairs<String, String>) throws(BenchError) {
    let line = fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "\n"
    do { try writeAll(Array(line.utf8), to: 1, name: "standard output") } catch { throw .io(error) }
}
