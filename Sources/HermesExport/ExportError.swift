import HermesCore

/// What can stop an export, each with the exit code DESIGN.md §4 assigns.
public enum ExportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The textfile could not be read, created or replaced.
    case textfile(IOError)
    /// Loki refused the records for good (4xx other than 429): not retried.
    case lokiRejected(message: String, status: Int)
    /// Loki stayed unreachable or overloaded through every retry.
    case lokiUnavailable(message: String)
    /// The request could not be made at all (TLS setup, a malformed URL).
    case lokiConfiguration(message: String)
    case output(IOError)
    case input(IOError)
    case configuration(String)

    public var description: String {
        switch self {
        case .textfile(let error), .output(let error), .input(let error): error.description
        case .lokiRejected(let message, _), .lokiUnavailable(let message), .lokiConfiguration(let message): message
        case .configuration(let message): message
        }
    }

    /// A 4xx Loki gives for the content of one request (an entry too old or too long, a body
    /// too large): later requests may still be taken, so the export goes on with them.
    public var refusesOnlyThisBatch: Bool {
        if case .lokiRejected(_, let status) = self { [400, 413].contains(status) } else { false }
    }

    public var exitCode: ExitCode {
        switch self {
        case .textfile(let error), .output(let error): error.exitCode
        case .input: .ioError
        // Wrong credentials, tenant or URL: the configuration must change before a retry helps.
        case .lokiRejected(_, let status) where [401, 403, 404, 405, 407].contains(status): .configuration
        case .lokiRejected: .dataError
        case .lokiUnavailable: .temporaryFailure
        case .lokiConfiguration, .configuration: .configuration
        }
    }
}
