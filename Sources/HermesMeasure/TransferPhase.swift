import HermesCore
import HermesHTTP

public enum Direction: String, Sendable {
    case download, upload
}

/// The outcome of one direction.
struct PhaseResult: Sendable {
    let estimate: ThroughputEstimate
    let loadedLatency: LatencySummary?
    let streams: Int
    let stopReason: StopReason
}

/// One direction of a test: parallel streams over libcurl's multi interface, each request
/// replaced as soon as it completes, the aggregate byte count sampled every 100 ms into the
/// estimator, which adds streams and says when to stop; latency probed alongside on a separate
/// connection.
struct TransferPhase {
    let direction: Direction
    let endpoints: any SpeedTestEndpoints
    let settings: EstimatorSettings
    let deadline: Deadline
    let progress: LiveProgress
    var probeInterval: Duration = .milliseconds(200)

    private var activity: String { "the \(direction.rawValue) test against \(endpoints.serverURL)" }

    func run() throws(MeasureFailure) -> PhaseResult {
        let multi: MultiTransfer
        do {
            multi = try MultiTransfer()
        } catch {
            throw MeasureFailure(.internal, "cannot prepare \(activity): \(error.message)")
        }
        let loadedProbe = LoadedLatencyProbe(
            prober: try LatencyProber(endpoints: endpoints), interval: probeInterval, deadline: deadline)
        var estimator = ThroughputEstimator(settings: settings)
        let start = ContinuousClock.now
        var lastSample = start
        var failure: MeasureFailure?
        var stopReason: StopReason?
        var failedRequests = 0

        _ = multi.perform(
            (0..<estimator.streams).map { _ in request(streams: estimator.streams) },
            progressInterval: .milliseconds(100)
        ) { snapshot in
            var decision = ProgressDecision()
            func next() -> HTTPRequest { request(moved: totalBytes(snapshot), streams: estimator.streams) }
            for (_, result) in snapshot.finished {
                switch result {
                case .success(let response) where response.isSuccess:
                    decision.start.append(next())
                case .success(let response):
                    failure = MeasureFailure.status(response, during: activity)
                    return .cancelAll
                case .failure(let error):
                    failedRequests += 1
                    let nothingMoved = totalBytes(snapshot) == 0
                    if (nothingMoved && failedRequests >= estimator.streams) || failedRequests > 2 * settings.maxStreams
                    {
                        failure = MeasureFailure.request(error, during: activity)
                        return .cancelAll
                    }
                    decision.start.append(next())
                }
            }
            if deadline.hasPassed {
                failure = deadline.expired(during: activity)
                return .cancelAll
            }
            let bytes = totalBytes(snapshot)
            // Between samples only the byte cap is checked, so a fast link stops close to it.
            let overCap = settings.maxBytes.map { bytes >= $0 } ?? false
            guard snapshot.instant - lastSample >= .milliseconds(95) || overCap else { return decision }
            lastSample = snapshot.instant
            switch estimator.record(time: snapshot.instant - start, bytes: bytes) {
            case .proceed: break
            case .addStreams(let count): decision.start += (0..<count).map { _ in next() }
            case .stop(let reason):
                stopReason = reason
                return .cancelAll
            }
            progress.show(direction, bytes: bytes, at: snapshot.instant - start, streams: estimator.streams)
            return decision
        }

        let warmupEnd = estimator.estimate.map { start + $0.windowStart } ?? start
        let loaded = loadedProbe.stop(keepingFrom: warmupEnd)
        if let failure { throw failure }
        if stopReason == .stalled || estimator.estimate?.windowBytes == 0 {
            throw MeasureFailure(
                .timeout,
                "\(activity) stalled: data stopped moving after \(estimator.estimate?.totalBytes ?? 0) bytes; "
                    + "the link or the server stopped responding")
        }
        guard let estimate = estimator.estimate, let stopReason else {
            throw MeasureFailure(.protocol, "\(activity) ended before any data moved")
        }
        return PhaseResult(
            estimate: estimate, loadedLatency: loaded, streams: estimator.streams, stopReason: stopReason)
    }

    /// The next request. Under `--max-bytes` each carries a share of what is left, so that a
    /// fast link cannot overshoot the cap by whole requests before the next sample.
    private func request(moved: Int64 = 0, streams: Int = 1) -> HTTPRequest {
        var size = direction == .download ? 100_000_000 : endpoints.uploadRequestBytes
        if let maxBytes = settings.maxBytes {
            size = min(size, max(64 * 1024, (maxBytes - moved) / Int64(max(1, streams))))
        }
        var request =
            switch direction {
            case .download: endpoints.download(upTo: size)
            case .upload: endpoints.upload(bytes: size)
            }
        let total = max(deadline.remaining, .milliseconds(1))
        request.timeouts = HTTPTimeouts(connect: min(.seconds(10), total), total: total)
        // Fewer, larger reads: at loopback rates 512 KiB took 40 % less CPU per byte than 100 KiB
        // and kept up with curl (scripts/bench measure).
        request.receiveBufferSize = 512 * 1024
        return request
    }

    private func totalBytes(_ progress: TransferProgress) -> Int64 {
        switch direction {
        case .download: progress.transfers.reduce(0) { $0 + $1.bytesReceived }
        // What reached the server, not what sits in our socket buffers.
        case .upload: progress.transfers.reduce(0) { $0 + $1.bytesSent - $1.bytesUnacknowledged }
        }
    }
}
