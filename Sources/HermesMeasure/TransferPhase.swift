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
            (0..<estimator.streams).map { _ in request() }, progressInterval: .milliseconds(100)
        ) { snapshot in
            var decision = ProgressDecision()
            for (_, result) in snapshot.finished {
                switch result {
                case .success(let response) where response.isSuccess:
                    decision.start.append(request())
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
                    decision.start.append(request())
                }
            }
            if deadline.hasPassed {
                failure = deadline.expired(during: activity)
                return .cancelAll
            }
            guard snapshot.instant - lastSample >= .milliseconds(95) else { return decision }
            lastSample = snapshot.instant
            let bytes = totalBytes(snapshot)
            switch estimator.record(time: snapshot.instant - start, bytes: bytes) {
            case .proceed: break
            case .addStreams(let count): decision.start += (0..<count).map { _ in request() }
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

    private func request() -> HTTPRequest {
        var request =
            switch direction {
            case .download: endpoints.download(upTo: settings.maxBytes ?? Int64.max)
            case .upload: endpoints.upload(bytes: min(endpoints.uploadRequestBytes, settings.maxBytes ?? Int64.max))
            }
        let total = max(deadline.remaining, .milliseconds(1))
        request.timeouts = HTTPTimeouts(connect: min(.seconds(10), total), total: total)
        return request
    }

    private func totalBytes(_ progress: TransferProgress) -> Int64 {
        switch direction {
        case .download: progress.transfers.reduce(0) { $0 + $1.bytesReceived }
        case .upload: progress.transfers.reduce(0) { $0 + $1.bytesSent }
        }
    }
}
