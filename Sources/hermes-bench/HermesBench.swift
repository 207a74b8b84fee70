import ArgumentParser
import HermesCLI
import HermesCore

/// The timing harness behind `scripts/bench`; not installed for users. It makes benchmark input,
/// times library calls in-process (printing one `key=value` line for the script to read), and
/// serves as the loopback receiver the export and alert benchmarks push to.
@main
struct HermesBench: HermesCommand {
    static let configuration = CommandConfiguration(
        commandName: "hermes-bench",
        abstract: "Benchmark input, in-process timings and loopback receivers for scripts/bench.",
        version: HermesVersion.current,
        subcommands: [Generate.self, QueryTiming.self, RetentionTiming.self, AppendTiming.self, Receive.self]
    )
}

/// A benchmark command: its work throws `BenchError`, which leaves with that error's exit code.
protocol BenchCommand: ParsableCommand {
    func measure() throws(BenchError)
}

extension BenchCommand {
    func run() throws {
        do { try measure() } catch { throw HermesBench.failure(error.message, code: error.exitCode) }
    }
}

/// Prints one `key=value key=value` line on standard output.
func report(_ fields: KeyValuePairs<String, String>) throws(BenchError) {
    let line = fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "\n"
    do { try writeAll(Array(line.utf8), to: 1, name: "standard output") } catch { throw .io(error) }
}
