import ArgumentParser
import HermesCore

#if canImport(Glibc)
    import Glibc
#endif

/// The shared `main` of every Hermes executable: parse, run, and map errors to DESIGN.md's exit
/// codes, with diagnostics on stderr as `tool: message`. Help and version go to stdout.
public protocol HermesCommand: ParsableCommand {}

extension HermesCommand {
    public static func main() {
        signal(SIGPIPE, SIG_IGN)
        let diagnostics = Diagnostics(tool: configuration.commandName ?? "hermes")
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
                if code == .validationFailure {
                    diagnostics.report("see '\(configuration.commandName ?? "hermes") --help'")
                }
            }
            Glibc.exit(code.rawValue)
        }
        Glibc.exit(0)
    }
}

/// A failure already reported on stderr, carrying the exit code to leave with.
public func exitAfterReporting(
    _ message: String, code: HermesCore.ExitCode, tool: String
) -> ArgumentParser.ExitCode {
    Diagnostics(tool: tool).report(message)
    return ArgumentParser.ExitCode(code.rawValue)
}
