import HermesCore
import HermesStore

#if canImport(Glibc)
    import Glibc
#endif

/// `append <database> <count>`: the store layer of an ingest alone. Records are built in memory,
/// untimed, in the batches `hermes-store` commits; only `append` and `close` are timed, so the
/// difference from a whole `hermes-store` ingest is the cost of reading and decoding NDJSON.
struct AppendTiming {
    static let batchSize = 10_000

    var path: String
    var count: Int
    var seed: UInt64

    init(_ arguments: inout Arguments) throws(BenchError) {
        path = try arguments.operand("database")
        let countText = try arguments.operand("count")
        guard let count = Int(countText), count > 0 else {
            throw .usage("<count> must be a positive whole number, got \"\(countText)\"")
        }
        self.count = count
        seed = UInt64(try arguments.integer("--seed", default: 1, in: 0...Int.max))
        try arguments.finish()
    }

    func run() throws(BenchError) {
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
