import ArgumentParser
import Glibc
import HermesCore
import Synchronization

/// Whether a SIGTERM came: the alarm is armed once.
private let sigtermSeen = Atomic<Bool>(false)

/// The shared `main` of every Hermes executable: parse, run, and map errors to the exit codes of
/// docs/ARCHITECTURE.md, with diagnostics on stderr as `tool: message`. Help and version go to
/// stdout. Subcommands report through their executable's command (`HermesStoreCommand.failure`).
public protocol HermesCommand: ParsableCommand {
    /// The command line as the parser is to read it; an option whose value may be left out
    /// (`--responsiveness [MODE]`) gets its default here.
    static func normalized(_ arguments: [String]) -> [String]
}

extension HermesCommand {
    /// The executable's name, from its command configuration: the `tool` of `tool: message`.
    public static var toolName: String { configuration.commandName ?? "hermes" }

    public static var diagnostics: Diagnostics { Diagnostics(tool: toolName) }

    public static func normalized(_ arguments: [String]) -> [String] { arguments }

    /// `arguments` with `option` given its `default` value wherever it is last or followed by
    /// another option: an option whose value may be left out. A word after it is its value, and
    /// the command judges it.
    public static func defaultingValue(of option: String, to defaultValue: String, in arguments: [String])
        -> [String]
    {
        var result: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--" {
                result += arguments[index...]
                break
            }
            result.append(argument)
            if argument == option && (index + 1 == arguments.endIndex || arguments[index + 1].hasPrefix("-")) {
                result.append(defaultValue)
            }
            index += 1
        }
        return result
    }

    /// Reports `message` on stderr and gives the exit to throw with `code`.
    public static func failure(_ message: String, code: HermesCore.ExitCode) -> ArgumentParser.ExitCode {
        diagnostics.report(message)
        return ArgumentParser.ExitCode(code.rawValue)
    }

    /// A pipeline stage waiting on a terminal looks hung; say what it expects instead (clig.dev).
    /// A stage that reads the pipe also finishes it on SIGTERM (`finishPipeOnTerminate`).
    public static func requirePipedInput() throws {
        if isatty(0) != 0 {
            throw failure(
                "standard input is a terminal; pipe records in, e.g. hermes-measure | \(toolName) (see --help)",
                code: .usage)
        }
        finishPipeOnTerminate()
    }

    /// systemd stops a unit by sending SIGTERM to every process of the pipeline at once. The
    /// stage upstream answers it by writing its last record (hermes-measure's "interrupted"
    /// failure) and exiting; a stage that died at once would lose that record. So a pipe reader
    /// takes SIGTERM as "finish": it goes on until its input ends, which follows within moments.
    /// SIGALRM 2 seconds after the SIGTERM ends it if it is still waiting for input; if it is busy
    /// with a record it has read, it ends when that is done, within `StopDeadline.grace` more
    /// (`StopDeadline`). Everything it writes is already safe against such an end (transactions,
    /// atomic renames, the spool), so the state stays consistent.
    public static func finishPipeOnTerminate() {
        StopDeadline.prepare()
        // The first SIGTERM sets the deadline; another one does not move it.
        signal(SIGTERM) { _ in
            if !sigtermSeen.exchange(true, ordering: .sequentiallyConsistent) { alarm(2) }
        }
        // SIGALRM must be able to end it: not ignored or blocked by whatever started the tool.
        signal(SIGALRM) { _ in StopDeadline.alarmRang() }
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGALRM)
        sigprocmask(SIG_UNBLOCK, &signals, nil)
    }

    public static func main() {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot(normalized(Array(CommandLine.arguments.dropFirst())))
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
