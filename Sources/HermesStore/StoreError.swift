import HermesCore

/// What can go wrong in a store, each with the exit code docs/ARCHITECTURE.md assigns.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case io(IOError)
    case busy(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case sqlite(path: String, reason: String, statement: String)
    case newerSchema(path: String, version: Int64)
    case migration(path: String, reason: String)
    case needsMigration(path: String)
    case badFile(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open \(path): \(reason)"
        case .io(let error): error.description
        case .busy(let path, let reason):
            "\(path) is locked by another process (\(reason)); try again later"
        case .corrupt(let path, let reason): "\(path) is damaged: \(reason)"
        case .sqlite(let path, let reason, _): "\(path): \(reason)"
        case .newerSchema(let path, let version):
            "\(path) has schema version \(version), newer than this hermes-store understands (\(SQLiteSchema.version)); upgrade Hermes"
        case .migration(let path, let reason):
            "cannot migrate \(path) from Python Hermes: \(reason); the database was left unchanged"
        case .badFile(let path, let line, let reason): "\(path):\(line): \(reason)"
        case .needsMigration(let path):
            "\(path) does not have this Hermes's schema yet (a Python Hermes or empty database); "
                + "migrate it once with: hermes-store --sqlite \(path) < /dev/null"
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .cannotOpen: .cannotCreate
        case .io(let error): error.exitCode
        case .busy: .temporaryFailure
        case .corrupt, .badFile, .migration: .dataError
        case .sqlite: .ioError
        case .newerSchema, .needsMigration: .configuration
        }
    }
}
