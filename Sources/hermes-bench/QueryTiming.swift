import ArgumentParser
import HermesCore
import HermesStore

/// `query <database>`: opens the store once and times `query(RecordQuery(limit:))`, the call behind
/// `hermes-store query --limit`, each run on its own so the median and p90 are of single calls.
struct QueryTiming: BenchCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Open the SQLite store once and time query(RecordQuery(limit:)), newest results first.")

    @Argument(help: ArgumentHelp("An existing database.", valueName: "database")) var path: String
    @Option(help: "Results per query.") var limit = 50
    @Option(help: "Timed queries.") var runs = 2000

    func validate() throws {
        guard (1...1_000_000).contains(limit) else { throw ValidationError("--limit must be 1 to 1000000") }
        guard (1...10_000_000).contains(runs) else { throw ValidationError("--runs must be 1 to 10000000") }
    }

    func measure() throws(BenchError) {
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
