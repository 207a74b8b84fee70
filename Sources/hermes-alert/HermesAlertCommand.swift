import ArgumentParser
import Glibc
import HermesAlert
import HermesCLI
import HermesCore

@main
struct HermesAlertCommand: HermesCommand {
    static let configuration = CommandConfiguration(
        commandName: "hermes-alert",
        abstract: "Turn a stream of Hermes records into alerts through \(Providers.displayNames).",
        discussion: """
            Reads newline-delimited JSON records from standard input, applies them to the state \
            file (locked, replaced atomically) and notifies every configured provider at once: after \
            --failure-threshold consecutive failures, again at most once per --cooldown while they \
            continue, and once more when a result clears the alert. Records not newer than the last \
            one applied are ignored. Exit status: 0 all notifications delivered, 75 some providers \
            failed, 69 none delivered, 65 rejected input lines, 78 configuration error.
            """,
        version: HermesVersion.current,
        subcommands: [Test.self, Send.self, Status.self]
    )

    @OptionGroup var state: StateOptions
    @OptionGroup var policy: PolicyOptions
    @OptionGroup var providers: ProviderOptions

    @Flag(
        help: """
            With no provider configured, read the records and exit 0 instead of 78 (for a pipeline \
            in which alerting is optional, such as hermes.service).
            """)
    var ifConfigured = false

    func run() throws {
        try Self.requirePipedInput()
        var flags = AlertSettings.Flags()
        state.apply(to: &flags)
        policy.apply(to: &flags)
        providers.apply(to: &flags)
        let settings = try resolvedSettings(flags, providerRequired: !ifConfigured)
        if settings.providers.isEmpty {
            // Read to the end, so the stage before this one never writes into a closed pipe.
            do {
                try discardStandardInput()
            } catch {
                throw HermesAlertCommand.failure(error.description, code: .ioError)
            }
            return
        }
        let code = AlertRun(settings: settings, diagnostics: HermesAlertCommand.diagnostics).run(reading: 0)
        if code != .success { throw ArgumentParser.ExitCode(code.rawValue) }
    }
}

/// Settings from flags and the environment; a configuration problem, or no provider when one is
/// required, ends the run with 78.
func resolvedSettings(_ flags: AlertSettings.Flags, providerRequired: Bool = true) throws -> AlertSettings {
    let settings: AlertSettings
    do {
        settings = try AlertSettings.resolve(flags, environment: .current())
    } catch {
        throw HermesAlertCommand.failure(error.message, code: .configuration)
    }
    if settings.providers.isEmpty && providerRequired {
        throw HermesAlertCommand.failure(Providers.noneConfigured, code: .configuration)
    }
    return settings
}

struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a test notification through each configured provider.",
        discussion: """
            Prints one line per provider: 'NAME: ok' or 'NAME: failed: REASON'. The state file is \
            not touched. Exit status 0 only when every provider succeeded.
            """)

    @OptionGroup var providers: ProviderOptions

    func run() throws {
        var flags = AlertSettings.Flags()
        providers.apply(to: &flags)
        let settings = try resolvedSettings(flags)
        let (lines, code) = ProviderTest.run(settings: settings, now: .now())
        try writeAll(Array((lines.joined(separator: "\n") + "\n").utf8), to: 1, name: "standard output")
        if code != .success { throw ArgumentParser.ExitCode(code.rawValue) }
    }
}

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a message from standard input, such as a hermes-report digest, through every provider.",
        discussion: """
            The message goes as it is, under --title, to every configured provider at once, with the \
            same flags, credentials, target guard and timeouts as alerts; the webhook payload has \
            event "digest". Silent when every provider took it; otherwise a line on standard error for \
            each that did not. The state file is not touched. Exit status: 0 all delivered, 75 some \
            providers failed, 69 none, 65 an empty or oversized message, 64 standard input is a \
            terminal, 78 configuration error.
            """)

    enum Format: String, CaseIterable, ExpressibleByArgument {
        case text, markdown
    }

    @OptionGroup var providers: ProviderOptions

    @Option(help: ArgumentHelp("The notification's title.", valueName: "text"))
    var title = "Hermes"

    @Option(help: "text, or markdown for providers that render it (Gotify, ntfy, Apprise).")
    var format = Format.text

    func validate() throws {
        if title.trimming().isEmpty { throw ValidationError("--title needs some text") }
    }

    func run() throws {
        try HermesAlertCommand.requirePipedInput()
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readAll(0, path: "standard input")
        } catch {
            throw HermesAlertCommand.failure(error.description, code: .ioError)
        }
        guard bytes.count <= DigestSend.maximumBytes else {
            throw HermesAlertCommand.failure(
                "the message is \(bytes.count) bytes; at most \(DigestSend.maximumBytes) are sent", code: .dataError)
        }
        let message = String(decoding: bytes, as: UTF8.self).trimming(" \t\r\n")
        guard !message.isEmpty else {
            throw HermesAlertCommand.failure(
                "nothing to send: standard input held no message (pipe one in, e.g. from hermes-report)",
                code: .dataError)
        }
        var flags = AlertSettings.Flags()
        providers.apply(to: &flags)
        let settings = try resolvedSettings(flags)
        let (failures, code) = DigestSend.run(
            title: title, message: message, markdown: format == .markdown, settings: settings, now: .now())
        for failure in failures { HermesAlertCommand.diagnostics.report(failure) }
        if code != .success { throw ArgumentParser.ExitCode(code.rawValue) }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the alert state: consecutive failures, active alerts, when each last alerted.")

    @OptionGroup var state: StateOptions

    func run() throws {
        var flags = AlertSettings.Flags()
        state.apply(to: &flags)
        // Only the path: a provider misconfigured in the environment must not hide the state.
        let path = AlertSettings.statePath(flags, environment: .current())
        let stored: Result<AlertBook, StateCoding.Problem>?
        do {
            stored = try StateFile.read(path: path)
        } catch {
            throw HermesAlertCommand.failure(error.description, code: error.exitCode)
        }
        let lines: [String]
        switch stored {
        case .none: lines = ["state file: \(path)", "no state yet: no record has been applied"]
        case .success(let alertState): lines = StatusReport.lines(for: alertState, path: path)
        case .failure(let problem) where problem.isNewerFormat:
            throw HermesAlertCommand.failure(
                "state file \(path) has \(problem.message): upgrade hermes-alert", code: .configuration)
        case .failure(let problem):
            throw HermesAlertCommand.failure(
                "state file \(path) is damaged: \(problem.message)", code: .dataError)
        }
        try writeAll(Array((lines.joined(separator: "\n") + "\n").utf8), to: 1, name: "standard output")
    }
}

/// Reads standard input to its end and forgets it.
private func discardStandardInput() throws(IOError) {
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if count == 0 { return }
        if count < 0 && errno != EINTR { throw IOError(operation: "read", path: "standard input", code: errno) }
    }
}
