import ArgumentParser
import Glibc
import HermesCore
import HermesStore

/// `retention <database> --remove-oldest <n>`: the age limit of `hermes-store --retention-days`,
/// with "now" placed so that exactly the oldest <n> records are older than the cutoff.
struct RetentionTiming: BenchCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Apply an age limit placed so that exactly the oldest <n> records go; time it and close.")

    @Argument(help: ArgumentHelp("An existing database.", valueName: "database")) var path: String
    @Option(help: ArgumentHelp("How many of the oldest records to remove.", valueName: "n")) var removeOldest: Int

    func validate() throws {
        guard removeOldest >= 1 else { throw ValidationError("--remove-oldest must be 1 or more") }
    }

    func measure() throws(BenchError) {
        let store = try openExistingStore(at: path)
        let oldestKept: [Record]
        do {
            // Everything strictly older than the (n+1)-th oldest record goes.
            let request = RecordQuery(limit: 1, offset: removeOldest, kinds: .all, chronological: true)
            oldestKept = try store.query(request)
        } catch {
            throw .store(error)
        }
        guard let cutoff = oldestKept.first?.timestamp else {
            throw .invalidRun("\(path) holds \(removeOldest) records or fewer; retention would empty it")
        }
        let oneDay = RetentionPolicy(maximumAgeDays: 1)
        let removed: Int
        let deleteSeconds: Double
        let closeSeconds: Double
        do {
            (removed, deleteSeconds) = try timed { () throws(StoreError) in
                try store.applyRetention(oneDay, now: cutoff.adding(milliseconds: 86_400_000))
            }
            ((), closeSeconds) = try timed { () throws(StoreError) in try store.close() }
        } catch {
            throw .store(error)
        }
        try report([
            "removed": String(removed), "cutoff": cutoff.rfc3339, "delete_us": microseconds(deleteSeconds),
            "close_us": microseconds(closeSeconds),
        ])
    }
}

/// Opens a database that must already exist: `SQLiteStore` would create an empty one, and a
/// benchmark of an empty database measures nothing.
func openExistingStore(at path: String) throws(BenchError) -> SQLiteStore {
    guard access(path, R_OK | W_OK) == 0 else {
        throw .io(IOError(operation: "open", path: path, code: errno))
    }
    do { return try SQLiteStore(path: path) } catch { throw .store(error) }
}
