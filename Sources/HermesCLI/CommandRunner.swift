import ArgumentParser
import Glibc
import HermesCore

/// The shared `main` of every Hermes executable: parse, run, and map errors to the exit codes of
/// docs/ARCHITECTURE.md, with diagnostics on stderr as `tool: message`. Help and version go to
/// stdout. Subcommands report through their executable's command (`HermesStoreCommand.failure`).
public protocol HermesCommand: ParsableCommand {}

extension HermesCommand {
    /// The executable's name, from its command configuration: the `tool` of `tool: message`.
    public static var toolName: String { configuration.commandName ?? "hermes" }

    public static var diagnostics: Diagnostics { Diagnostics(tool: toolName) }

    /// Reports `message` on stderr and gives the exit to throw with `code`.
    public static func failure(_ message: String, code: HermesCore.ExitCode) -> ArgumentParser.ExitCode {
        diagnostics.report(message)
        return ArgumentParser.ExitCode(code.rawValue)
    }

    /// A pipeline stage waiting on a terminal looks hung; say what it expects instead (clig.dev).
    public static func requirePipedInput() throws {
        if isatty(0) != 0 {
            throw failure(
                "standard input is a terminal; pipe records in, e.g. hermes-measure | \(toolName) (see --help)",
                code: .usage)
        }
    }

    public static func main() {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let message = self.message(for: error)
            if code == .success {
                if !message.isEmpty { try? writeAll(Array((message + "\n").utf8), to: 1, name: "standard output") }
            } else if !message.isEmpty {
                diagnostics.report(message)
                if code == .validationFailure { diagnostics.report("see '\(toolName) --help'") }
            }
            Glibc.exit(code.rawValue)
        }
        Glibc.exit(0)
    }
}
