import HermesCore
import HermesStore

/// `query <database>`: opens the store once and times `query(RecordQuery(limit:))`, the call behind
/// `hermes-store query --limit`, each run on its own so the median and p90 are of single calls.
struct QueryTiming {
    var path: String
    var limit: Int
    var runs: Int

    init(_ arguments: inout Arguments) throws(BenchError) {
        path = try arguments.operand("database")
        limit = try arguments.integer("--limit", default: 50, in: 1...1_000_000)
        runs = try arguments.integer("--runs", default: 2000, in: 1...10_000_000)
        try arguments.finish()
    }

    func run() throws(BenchError) {
        let store = try openExistingStore(at: path)
        let request = RecordQuery(limit: limit)
        var seconds: [Double] = []
        seconds.reserveCapacity(runs)
        var returned = 0
        let warmup = max(10, runs / 20)
        do throws(StoreError) {
            for run in 0..<(warmup + runs) {
                let (records, elapsed) = try timed { () throws(StoreError) in try store.query(request) }
                if run >= warmup { seconds.append(elapsed) }
                returned = records.count
            }
        } catch {
            throw .store(error)
        }
        guard returned == limit else {
            throw .invalidRun("asked \(path) for \(limit) results, got \(returned); nothing comparable was timed")
        }
        let samples = Samples(seconds)
        try report([
            "rows": String(returned), "runs": String(runs), "warmup": String(warmup),
            "median_us": microseconds(samples.median), "p90_us": microseconds(samples.percentile(90)),
            "mean_us": microseconds(samples.mean),
        ])
    }
}
