import HermesCore
import Synchronization

/// What a phase's coordinator and its worker threads share: each worker's byte count as of its
/// last progress call, the streams each is to add, and whether to stop.
final class PhaseBoard: Sendable {
    struct Reading {
        var instant: ContinuousClock.Instant
        var bytes: Int64
    }

    private struct State {
        /// Per worker, its two latest readings (older first).
        var readings: [[Reading]]
        var streams: [Int]
        var toStart: [Int]
        var stopping = false
        var failure: MeasureFailure?
        var failedRequests = 0
        var finishedWorkers = 0
        var capReached = false
    }

    private let state: Mutex<State>

    init(streams: [Int], start: ContinuousClock.Instant) {
        state = Mutex(
            State(
                readings: streams.map { _ in [Reading(instant: start, bytes: 0)] }, streams: streams,
                toStart: streams.map { _ in 0 }))
    }

    /// A worker's report: its bytes now. Answers whether to stop, how many streams to add, and
    /// the phase's total bytes and streams (for sizing requests under a byte cap).
    func report(worker: Int, bytes: Int64, at instant: ContinuousClock.Instant) -> (
        stop: Bool, add: Int, total: Int64, streams: Int
    ) {
        state.withLock { state in
            var readings = state.readings[worker]
            readings.append(Reading(instant: instant, bytes: bytes))
            if readings.count > 2 { readings.removeFirst() }
            state.readings[worker] = readings
            let add = state.toStart[worker]
            state.toStart[worker] = 0
            state.streams[worker] += add
            let total = state.readings.reduce(0) { $0 + ($1.last?.bytes ?? 0) }
            return (state.stopping, add, total, state.streams.reduce(0, +))
        }
    }

    /// The phase's bytes at the latest instant every worker has reported past, each worker's
    /// count interpolated to it: one consistent sample, however the workers' reports interleave.
    func sample() -> Reading {
        state.withLock { state in
            let instant = state.readings.map { $0.last!.instant }.min()!
            let bytes = state.readings.reduce(Int64(0)) { total, readings in
                total + Self.interpolate(readings, at: instant)
            }
            return Reading(instant: instant, bytes: bytes)
        }
    }

    private static func interpolate(_ readings: [Reading], at instant: ContinuousClock.Instant) -> Int64 {
        guard let last = readings.last else { return 0 }
        guard readings.count == 2, instant < last.instant else { return last.bytes }
        let first = readings[0]
        guard instant > first.instant else { return first.bytes }
        let fraction = seconds(instant - first.instant) / seconds(last.instant - first.instant)
        return first.bytes + Int64(Double(last.bytes - first.bytes) * fraction)
    }

    /// Asks the worker with the fewest streams to add `count`.
    func add(_ count: Int) {
        state.withLock { state in
            for _ in 0..<count {
                let load = state.streams.indices.map { state.streams[$0] + state.toStart[$0] }
                let worker = load.indices.min { load[$0] < load[$1] }!
                state.toStart[worker] += 1
            }
        }
    }

    func stop() { state.withLock { $0.stopping = true } }

    /// A worker saw the phase reach `--max-bytes`: everyone stops.
    func reachCap() {
        state.withLock { state in
            state.capReached = true
            state.stopping = true
        }
    }

    /// Records the phase's failure (the first one wins) and stops every worker.
    func fail(_ failure: MeasureFailure) {
        state.withLock { state in
            if state.failure == nil { state.failure = failure }
            state.stopping = true
        }
    }

    /// Counts a failed request; true when failures are too many to go on.
    func countFailedRequest(limit: Int, nothingMoved: Bool) -> Bool {
        state.withLock { state in
            state.failedRequests += 1
            let streams = state.streams.reduce(0, +)
            return (nothingMoved && state.failedRequests >= streams) || state.failedRequests > limit
        }
    }

    func workerFinished() { state.withLock { $0.finishedWorkers += 1 } }

    var allWorkersFinished: Bool { state.withLock { $0.finishedWorkers == $0.streams.count } }
    var isStopping: Bool { state.withLock { $0.stopping } }
    var capReached: Bool { state.withLock { $0.capReached } }
    var failure: MeasureFailure? { state.withLock { $0.failure } }
}
