import HermesCore
import HermesHTTP
import Synchronization

/// Round trips of `SpeedTestEndpoints.latencyProbe()` on one kept-alive connection of their
/// own: warm (the handshakes are not part of a sample) and separate from the data streams, so a
/// sample under load measures the queue, not head-of-line blocking behind our own data.
struct LatencyProber {
    let endpoints: any SpeedTestEndpoints
    let transfer: EasyTransfer

    init(endpoints: any SpeedTestEndpoints) throws(MeasureFailure) {
        self.endpoints = endpoints
        do {
            transfer = try EasyTransfer()
        } catch {
            throw MeasureFailure(.internal, "cannot prepare a latency probe: \(error.message)")
        }
    }

    /// One round trip in milliseconds: time to the first byte on the open connection, less the
    /// server's reported processing time.
    func roundTrip(
        deadline: Deadline, limit: Duration, during activity: String, cancelled: (@Sendable () -> Bool)? = nil
    ) throws(MeasureFailure) -> Double {
        try sample(deadline: deadline, limit: limit, during: activity, cancelled: cancelled).milliseconds
    }

    /// A round trip, and where the server time subtracted from it came from (nil: the engine
    /// reads none).
    func sample(
        deadline: Deadline, limit: Duration, during activity: String, cancelled: (@Sendable () -> Bool)? = nil
    ) throws(MeasureFailure) -> (milliseconds: Double, serverTiming: String?, ipVersion: Int?) {
        var request = endpoints.latencyProbe()
        let total = deadline.bounded(limit)
        guard total > .zero else { throw deadline.expired(during: activity) }
        request.timeouts = HTTPTimeouts(connect: total, total: total)
        request.isCancelled = cancelled
        let response: HTTPResponse
        do {
            response = try transfer.perform(request)
        } catch {
            throw MeasureFailure.request(error, during: activity)
        }
        guard response.isSuccess else { throw MeasureFailure.status(response, during: activity) }
        let metrics = response.metrics
        let requestSent = max(metrics.connected, metrics.tlsDone)
        let serverTime = endpoints.serverTime(of: response)
        let roundTrip = metrics.firstByte - requestSent - (serverTime?.duration ?? .zero)
        return (
            max(0, seconds(roundTrip) * 1000), serverTime?.source,
            metrics.remoteAddress.flatMap(NetworkRoute.ipVersion(of:))
        )
    }

    /// Idle latency: one round trip to open and warm the connection, then `count` samples.
    func idle(count: Int, deadline: Deadline) throws(MeasureFailure) -> LatencySummary {
        let activity = "the latency test against \(endpoints.serverURL)"
        _ = try roundTrip(deadline: deadline, limit: .seconds(10), during: activity)
        var samples: [Double] = []
        var sources: [String: Int] = [:]
        var ipVersion: Int?
        for _ in 0..<count {
            let sample = try sample(deadline: deadline, limit: .seconds(5), during: activity)
            samples.append(sample.milliseconds)
            ipVersion = sample.ipVersion ?? ipVersion
            if let source = sample.serverTiming { sources[source, default: 0] += 1 }
        }
        var summary = LatencySummary(milliseconds: samples)!
        summary.ipVersion = ipVersion
        // What most samples had (a service changing its header mid-run is not worth a list).
        summary.serverTiming = sources.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
        return summary
    }
}

/// Probes latency every `interval` on a thread of its own while a transfer phase runs.
final class LoadedLatencyProbe: Sendable {
    private let samples = Mutex<[(instant: ContinuousClock.Instant, milliseconds: Double)]>([])
    private let stopped = Atomic<Bool>(false)
    private let thread = Mutex<BackgroundThread?>(nil)

    init(prober: LatencyProber, interval: Duration, deadline: Deadline) {
        let probe = UncheckedProber(prober: prober)
        let started = BackgroundThread { [self] in
            var next = ContinuousClock.now
            while !stopped.load(ordering: .relaxed) {
                let sent = ContinuousClock.now
                let milliseconds = try? probe.prober.roundTrip(
                    deadline: deadline, limit: .seconds(5), during: "a latency probe under load",
                    cancelled: { [self] in stopped.load(ordering: .relaxed) })
                if let milliseconds, !stopped.load(ordering: .relaxed) {
                    samples.withLock { $0.append((sent, milliseconds)) }
                }
                next += interval
                let now = ContinuousClock.now
                if next < now { next = now }
                var slept = Duration.zero
                // Short naps, so that stop() never waits a whole interval.
                while slept < next - now && !stopped.load(ordering: .relaxed) {
                    let nap = min(.milliseconds(20), next - now - slept)
                    sleepPrecisely(nap)
                    slept += nap
                }
            }
        }
        thread.withLock { $0 = started }
    }

    /// Stops probing and summarises the samples taken from `since` on.
    func stop(keepingFrom since: ContinuousClock.Instant) -> LatencySummary? {
        stopped.store(true, ordering: .relaxed)
        thread.withLock { $0 }?.join()
        let kept = samples.withLock { $0 }.filter { $0.instant >= since }.map(\.milliseconds)
        return LatencySummary(milliseconds: kept)
    }
}

/// The prober's transfer is used by the probe thread alone once it has started.
private struct UncheckedProber: @unchecked Sendable {
    let prober: LatencyProber
}
