import HermesCore
import HermesStore

/// Why a benchmark command stopped, with the exit code docs/ARCHITECTURE.md assigns.
enum BenchError: Error {
    case store(StoreError)
    case io(IOError)
    /// The run completed but measured something other than what was asked for.
    case invalidRun(String)

    var message: String {
        switch self {
        case .invalidRun(let message): message
        case .store(let error): error.description
        case .io(let error): error.description
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .store(let error): error.exitCode
        case .io(let error): error.exitCode
        case .invalidRun: .dataError
        }
    }
}
