import Glibc
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

/// One direction of a test: parallel streams (`LoadGenerator`) whose aggregate byte count the
/// estimator reads every 100 ms, adding streams and saying when to stop. Latency is probed
/// alongside on a separate connection.
struct TransferPhase: Sendable {
    let direction: Direction
    let endpoints: any SpeedTestEndpoints
    let settings: EstimatorSettings
    let deadline: Deadline
    let progress: LiveProgress
    var probeInterval: Duration = .milliseconds(200)
    var workers = LoadGenerator.defaultWorkers

    func run() throws(MeasureFailure) -> PhaseResult {
        let loadedProbe = LoadedLatencyProbe(
            prober: try LatencyProber(endpoints: endpoints), interval: probeInterval, deadline: deadline)
        var estimator = ThroughputEstimator(settings: settings)
        let direction = direction
        let load = LoadGenerator(
            direction: direction, endpoints: endpoints, deadline: deadline, workers: workers,
            maxBytes: settings.maxBytes, maxStreams: settings.maxStreams)
        let outcome = load.run(initialStreams: estimator.streams) { elapsed, bytes, _ in
            let decision = estimator.record(time: elapsed, bytes: bytes)
            progress.show(direction, bytes: bytes, at: elapsed, streams: estimator.streams)
            return decision
        }
        var stopReason = outcome.stopReason
        if stopReason == nil && outcome.capReached {
            _ = estimator.record(time: outcome.last.elapsed, bytes: outcome.last.bytes)
            stopReason = .byteLimit
        }

        let warmupEnd = estimator.estimate.map { outcome.start + $0.windowStart } ?? outcome.start
        let loaded = loadedProbe.stop(keepingFrom: warmupEnd)
        if let failure = outcome.failure { throw failure }
        if stopReason == .stalled || estimator.estimate?.windowBytes == 0 {
            throw MeasureFailure(
                .timeout,
                "\(load.activity) stalled: data stopped moving after \(estimator.estimate?.totalBytes ?? 0) bytes; "
                    + "the link or the server stopped responding")
        }
        guard let estimate = estimator.estimate, let stopReason else {
            throw MeasureFailure(.protocol, "\(load.activity) ended before any data moved")
        }
        return PhaseResult(
            estimate: estimate, loadedLatency: loaded, streams: estimator.streams, stopReason: stopReason)
    }
}

/// Parallel streams of one direction over libcurl's multi interface, each request replaced as
/// soon as it completes. The streams are spread over a worker thread per initial stream, at most
/// four, whatever the core count: one thread reading every socket tops out below what the link
/// or a loopback server can do, and where the server's threads share the cores (a loopback test,
/// a self-hosted target on the same box) the scheduler shares them per thread, so two readers
/// against a server's four connection threads got a third of two cores where curl's four
/// processes got half (0.86x curl's rate against scripts/bench's C server, 1.06x with four). The
/// calling thread samples their aggregate byte count every 100 ms and hands it to the caller's
/// policy, which adds streams and says when to stop.
struct LoadGenerator: Sendable {
    static let defaultWorkers = 4

    let direction: Direction
    let endpoints: any SpeedTestEndpoints
    let deadline: Deadline
    var workers = defaultWorkers
    var maxBytes: Int64?
    /// The most streams the policy may ask for; failed requests beyond twice as many end the load.
    var maxStreams: Int
    /// Where self probes are wanted and taken. Whenever the ledger asks for one, a worker sends a
    /// small GET as an HTTP/2 stream on one of its load connections; when the load runs over
    /// HTTP/1.1 (that GET came back on a connection of its own, or the server is plain http), it
    /// hands over the smoothed round-trip time (TCP_INFO) of a load connection picked at random.
    var selfProbes: ProbeLedger?

    var activity: String { "the \(direction.rawValue) test against \(endpoints.serverURL)" }

    struct Outcome {
        var start: ContinuousClock.Instant
        var last: (elapsed: Duration, bytes: Int64)
        var stopReason: StopReason?
        var capReached: Bool
        var failure: MeasureFailure?
    }

    /// Runs the load until `decide` stops it, the deadline passes, a byte cap is reached or it
    /// fails; `decide` gets the time since the start, the bytes moved and the sample's instant,
    /// every 100 ms.
    func run(
        initialStreams: Int,
        decide: (_ elapsed: Duration, _ bytes: Int64, _ instant: ContinuousClock.Instant) -> EstimatorDecision
    ) -> Outcome {
        let workerCount = max(1, min(workers, initialStreams))
        let shares = (0..<workerCount).map { (initialStreams + workerCount - 1 - $0) / workerCount }
        let start = ContinuousClock.now
        let board = PhaseBoard(streams: shares, start: start)
        var threads: [BackgroundThread] = []
        for (index, share) in shares.enumerated() {
            guard
                let thread = BackgroundThread({ [self] in
                    work(index, streams: share, of: initialStreams, board: board)
                })
            else {
                board.fail(MeasureFailure(.internal, "cannot start a thread for \(activity)"))
                break
            }
            threads.append(thread)
        }

        var stopReason: StopReason?
        var last: (elapsed: Duration, bytes: Int64) = (.zero, 0)
        var nextSample = start + .milliseconds(100)
        while !board.isStopping && !board.allWorkersFinished {
            sleepPrecisely(min(nextSample - .now, .milliseconds(10)))
            if deadline.hasPassed {
                board.fail(deadline.expired(during: activity))
                break
            }
            guard ContinuousClock.now >= nextSample else { continue }
            nextSample = max(nextSample + .milliseconds(100), .now)
            let reading = board.sample()
            last = (reading.instant - start, reading.bytes)
            switch decide(last.elapsed, last.bytes, reading.instant) {
            case .proceed: break
            case .addStreams(let count): board.add(count)
            case .stop(let reason):
                stopReason = reason
                board.stop()
            }
        }
        board.stop()
        for thread in threads { thread.join() }
        if stopReason == nil && board.capReached {
            let reading = board.sample()
            last = (reading.instant - start, reading.bytes)
        }
        return Outcome(
            start: start, last: last, stopReason: stopReason, capReached: board.capReached, failure: board.failure)
    }

    /// One worker: its streams on a multi handle of its own, each finished request replaced,
    /// reporting its bytes every 10 ms and taking the coordinator's orders in return.
    private func work(_ index: Int, streams: Int, of initialStreams: Int, board: PhaseBoard) {
        defer { board.workerFinished() }
        let multi: MultiTransfer
        do {
            multi = try MultiTransfer()
        } catch {
            board.fail(MeasureFailure(.internal, "cannot prepare \(activity): \(error.message)"))
            return
        }
        let initial = (0..<streams).map { _ in request(streams: initialStreams) }
        var selfProbe = SelfProbeState(secure: endpoints.serverURL.lowercased().hasPrefix("https:"))
        _ = multi.perform(initial, progressInterval: .milliseconds(10)) { snapshot in
            let report = board.report(worker: index, bytes: totalBytes(snapshot), at: snapshot.instant)
            if report.stop { return .cancelAll }
            var decision = ProgressDecision()
            func next() -> HTTPRequest { request(moved: report.total, streams: report.streams) }
            for (finished, result) in snapshot.finished {
                if finished == selfProbe.inFlight {
                    if let selfProbes { selfProbe.finish(result, into: selfProbes) }
                    continue
                }
                switch result {
                case .success(let response) where response.isSuccess:
                    decision.start.append(next())
                case .success(let response):
                    board.fail(MeasureFailure.status(response, during: activity))
                    return .cancelAll
                case .failure(let error):
                    if board.countFailedRequest(limit: 2 * maxStreams, nothingMoved: report.total == 0) {
                        board.fail(MeasureFailure.request(error, during: activity))
                        return .cancelAll
                    }
                    decision.start.append(next())
                }
            }
            if let maxBytes, report.total >= maxBytes {
                board.reachCap()
                return .cancelAll
            }
            decision.start += (0..<report.add).map { _ in next() }
            if let selfProbes, selfProbe.inFlight == nil {
                switch selfProbe.method {
                case .tcpInfo: SelfProbeState.takeRoundTrip(from: snapshot, into: selfProbes)
                case .http2, nil:
                    // Started last, so its index follows every other request started here.
                    guard selfProbes.takeSelfProbeRequest() else { break }
                    decision.start.append(selfProbeRequest())
                    selfProbe.inFlight = snapshot.transfers.count + decision.start.count - 1
                }
            }
            return decision
        }
    }

    /// A small GET that rides one of the worker's busy HTTP/2 load connections.
    private func selfProbeRequest() -> HTTPRequest {
        var request = endpoints.latencyProbe()
        request.multiplexesOnBusyConnection = true
        let limit = deadline.bounded(.seconds(10))
        request.timeouts = HTTPTimeouts(connect: limit, total: limit)
        return request
    }

    /// The next request. Under `--max-bytes` each carries a share of what is left, so that a
    /// fast link cannot overshoot the cap by whole requests before the next sample.
    private func request(moved: Int64 = 0, streams: Int = 1) -> HTTPRequest {
        var size = direction == .download ? 100_000_000 : endpoints.uploadRequestBytes
        if let maxBytes {
            size = min(size, max(64 * 1024, (maxBytes - moved) / Int64(max(1, streams))))
        }
        var request =
            switch direction {
            case .download: endpoints.download(upTo: size)
            case .upload: endpoints.upload(bytes: size)
            }
        let total = max(deadline.remaining, .milliseconds(1))
        request.timeouts = HTTPTimeouts(connect: min(.seconds(10), total), total: total)
        // Fewer, larger reads and sends: at loopback rates 512 KiB took 40 % less CPU per byte than
        // 100 KiB to receive, and a third less than libcurl's 64 KiB to send, with 1.15x the
        // upload rate (scripts/bench measure).
        request.receiveBufferSize = 512 * 1024
        request.sendBufferSize = 512 * 1024
        request.reportsRoundTrip = selfProbes != nil
        // A stopped upload's buffered bytes must not load the link in the next phase.
        request.resetOnClose = direction == .upload
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

/// One worker's self probes: whether its load connections can carry an HTTP/2 stream (unknown
/// until the first probe says, and never over plain http), and the probe in flight.
struct SelfProbeState {
    /// nil until the first HTTP/2 probe tells.
    var method: SelfProbeMethod?
    /// The index of the probe request in flight.
    var inFlight: Int?
    private var failures = 0

    init(secure: Bool) {
        method = secure ? nil : .tcpInfo
    }

    /// Files the probe's round trip when it rode a load connection as an HTTP/2 stream; falls
    /// back to TCP_INFO for good when the server answered over HTTP/1.1, or when the first 3
    /// probes failed or found no connection to ride (one sent before the load's handshakes were
    /// done opens its own). Once probes have ridden, a failure is only retried.
    mutating func finish(_ result: Result<HTTPResponse, HTTPError>, into ledger: ProbeLedger) {
        inFlight = nil
        switch result {
        case .success(let response)
        where response.isSuccess && response.metrics.newConnections == 0 && response.metrics.httpVersion == 2:
            method = .http2
            ledger.recordSelfProbe(.http2, milliseconds: seconds(response.metrics.total) * 1000)
        case .success(let response) where response.metrics.httpVersion == 1:
            method = .tcpInfo
            ledger.wantSelfProbe()
        case .success, .failure:
            failures += 1
            if failures >= 3 && method == nil { method = .tcpInfo }
            ledger.wantSelfProbe()
        }
    }

    /// A self probe from TCP_INFO, when one is wanted: the smoothed round-trip time of one of the
    /// worker's running load connections, picked at random.
    static func takeRoundTrip(from snapshot: TransferProgress, into ledger: ProbeLedger) {
        let running = snapshot.transfers.compactMap { $0.isFinished ? nil : $0.roundTrip }
        guard let roundTrip = running.randomElement(), ledger.takeSelfProbeRequest() else { return }
        ledger.recordSelfProbe(.tcpInfo, milliseconds: seconds(roundTrip) * 1000)
    }
}
