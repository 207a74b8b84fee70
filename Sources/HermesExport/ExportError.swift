import HermesCore

/// What can stop an export, each with the exit code docs/ARCHITECTURE.md assigns. The push cases
/// are any receiver's (Loki today, a remote-write receiver next), named for what happened.
public enum ExportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The textfile could not be read, created or replaced.
    case textfile(IOError)
    /// The receiver refused the records for good (4xx other than 408 and 429): not retried.
    case refused(message: String, status: Int)
    /// The receiver stayed unreachable or overloaded through every retry.
    case unreachable(message: String)
    /// The request could not be made at all (TLS setup, a malformed URL).
    case cannotPush(message: String)
    /// The spool could not be created, written or read: the records went out without it.
    case spool(IOError)
    /// The spool reached `--spool-max-bytes` or `--spool-max-age` and its oldest records went.
    case spoolDropped(message: String)
    /// Spooled entries failed their checksum: set aside in `rejected/`, the rest sent.
    case spoolDamaged(message: String)
    case output(IOError)
    case input(IOError)
    case configuration(String)

    public var description: String {
        switch self {
        case .textfile(let error), .output(let error), .input(let error): error.description
        case .spool(let error): "spool: \(error)"
        case .refused(let message, _), .unreachable(let message), .cannotPush(let message), .spoolDropped(let message),
            .spoolDamaged(let message):
            message
        case .configuration(let message): message
        }
    }

    /// A 4xx a receiver gives for the content of one request (Loki: an entry too old or too long, a body
    /// too large): later requests may still be taken, so the export goes on with them.
    /// Any final 4xx but those that say the configuration is wrong: a queue must not stall
    /// behind one request a receiver will never take.
    public var refusesOnlyThisBatch: Bool {
        if case .refused = self { exitCode == .dataError } else { false }
    }

    public var exitCode: ExitCode {
        switch self {
        case .textfile(let error), .output(let error), .spool(let error): error.exitCode
        case .input: .ioError
        // Wrong credentials, tenant or URL: the configuration must change before a retry helps.
        case .refused(_, let status) where [401, 403, 404, 405, 407].contains(status): .configuration
        case .refused, .spoolDamaged: .dataError
        case .unreachable, .spoolDropped: .temporaryFailure
        case .cannotPush, .configuration: .configuration
        }
    }
}
