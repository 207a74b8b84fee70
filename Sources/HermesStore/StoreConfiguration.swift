import HermesCore

/// Which stores to use and how long to keep history: flags, then `HERMES_*`, then the Python
/// Hermes variables, then defaults (docs/ARCHITECTURE.md, "Conventions").
public struct StoreConfiguration: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case sqlite, csv
    }

    public struct Target: Equatable, Sendable {
        public var kind: Kind
        public var path: String
        public var retention: RetentionPolicy
    }

    public var targets: [Target]

    public static let defaultDatabaseName = "hermes.db"

    /// - Parameters: flag values as given (nil when absent); `retentionDays`/`maxRows` of 0 mean
    ///   unlimited, as in the Python Hermes.
    public static func resolve(
        sqlite: String?, csv: String?, retentionDays: Int?, maxRows: Int?, environment: Environment
    ) throws(ConfigurationError) -> StoreConfiguration {
        var targets: [Target] = []
        var sqlitePath = sqlite
        var csvPath = csv
        if sqlite == nil && csv == nil {
            sqlitePath = defaultDatabasePath(environment)
            csvPath = environment.first("HERMES_CSV", "CSV_LOG_PATH")?.value
        }
        if let sqlitePath {
            targets.append(
                Target(
                    kind: .sqlite, path: sqlitePath,
                    retention: try policy(
                        retentionDays, maxRows, environment, days: "SQLITE_RETENTION_DAYS", rows: "SQLITE_MAX_ROWS")))
        }
        if let csvPath {
            targets.append(
                Target(
                    kind: .csv, path: csvPath,
                    retention: try policy(
                        retentionDays, maxRows, environment, days: "CSV_RETENTION_DAYS", rows: "CSV_MAX_ROWS")))
        }
        return StoreConfiguration(targets: targets)
    }

    public static func defaultDatabasePath(_ environment: Environment) -> String {
        environment.first("HERMES_DB", "SQLITE_DB_PATH")?.value
            ?? environment.stateDirectory + "/" + defaultDatabaseName
    }

    private static func policy(
        _ days: Int?, _ rows: Int?, _ environment: Environment, days daysVariable: String, rows rowsVariable: String
    ) throws(ConfigurationError) -> RetentionPolicy {
        let resolvedDays: Int?
        let resolvedRows: Int?
        if let days {
            resolvedDays = days == 0 ? nil : days
        } else {
            resolvedDays = try environment.limit("HERMES_RETENTION_DAYS", daysVariable)
        }
        if let rows {
            resolvedRows = rows == 0 ? nil : rows
        } else {
            resolvedRows = try environment.limit("HERMES_MAX_ROWS", rowsVariable)
        }
        return RetentionPolicy(maximumAgeDays: resolvedDays, maximumRows: resolvedRows)
    }

    /// Opens the stores, in the order given.
    public func open() throws(StoreError) -> [Ingest.Destination] {
        var destinations: [Ingest.Destination] = []
        for target in targets {
            let store: any RecordStore =
                switch target.kind {
                case .sqlite: try SQLiteStore(path: target.path)
                case .csv: try CSVStore(path: target.path)
                }
            destinations.append(Ingest.Destination(store: store, retention: target.retention))
        }
        return destinations
    }
}
