import ArgumentParser
import Glibc
import HermesCore
import HermesStore

/// `append <database> <count>`: the store layer of an ingest alone. Records are built in memory,
/// untimed, in the batches `hermes-store` commits; only `append` and `close` are timed, so the
/// difference from a whole `hermes-store` ingest is the cost of reading and decoding NDJSON.
struct AppendTiming: BenchCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: """
            Store <count> generated records in a new database with SQLiteStore.append, 10000 per call, \
            timing only append and close (ingest without decoding).
            """)

    static let batchSize = 10_000

    @Argument(help: ArgumentHelp("A database that does not exist yet.", valueName: "database")) var path: String
    @Argument(help: "How many records.") var count: Int
    @Option(help: "The generator's seed.") var seed: UInt64 = 1

    func validate() throws {
        guard count > 0 else { throw ValidationError("<count> must be 1 or more, got \(count)") }
    }

    func measure() throws(BenchError) {
        guard access(path, F_OK) != 0 else {
            throw .invalidRun("\(path) exists; the append benchmark needs a fresh database")
        }
        let store: SQLiteStore
        do { store = try SQLiteStore(path: path) } catch { throw .store(error) }
        var generator = RecordGenerator(count: count, seed: seed)
        var batch: [Record] = []
        batch.reserveCapacity(Self.batchSize)
        var seconds = 0.0
        var appended = 0
        do {
            while appended < count {
                batch.removeAll(keepingCapacity: true)
                while batch.count < Self.batchSize, let record = generator.next() { batch.append(record) }
                let ((), elapsed) = try timed { () throws(StoreError) in try store.append(batch) }
                seconds += elapsed
                appended += batch.count
            }
            let ((), closeSeconds) = try timed { () throws(StoreError) in try store.close() }
            seconds += closeSeconds
        } catch {
            throw .store(error)
        }
        try report([
            "appended": String(appended), "seconds_us": microseconds(seconds),
            "records_per_s": String(Int((Double(appended) / seconds).rounded())),
        ])
    }
}
