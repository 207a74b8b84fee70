import HermesCore
import HermesHTTP
import Synchronization

/// How responsiveness is measured: not at all, one direction after the other (a score each), or
/// both at once (one score): the draft's sequential and concurrent tests.
public enum ResponsivenessMode: String, Sendable, CaseIterable {
    case off
    case sequential
    case parallel
}

/// How a self probe was taken: a small GET multiplexed as an HTTP/2 stream on a load connection,
/// or, where the load runs over HTTP/1.1 and cannot carry another request, the load connection's
/// own round-trip time from TCP_INFO, which the draft allows as the substitute.
enum SelfProbeMethod: String, Sendable {
    case http2
    case tcpInfo = "tcp_info"
}

/// The probes of a responsiveness stage, kept by when they completed, and the self probes the
/// foreign prober wants taken: one per foreign probe, as the draft pairs them.
final class ProbeLedger: Sendable {
    enum Kind: Sendable { case tcp, tls, http, loaded }

    private struct Sample {
        var instant: ContinuousClock.Instant
        var kind: Kind
        var milliseconds: Double
    }

    private let samples = Mutex<[Sample]>([])
    private let selfProbesWanted = Atomic<Int>(0)
    private let http2SelfProbes = Atomic<Int>(0)
    private let tcpInfoSelfProbes = Atomic<Int>(0)

    /// A self probe taken now, and how.
    func recordSelfProbe(_ method: SelfProbeMethod, milliseconds: Double) {
        record(.loaded, milliseconds: milliseconds)
        switch method {
        case .http2: http2SelfProbes.add(1, ordering: .relaxed)
        case .tcpInfo: tcpInfoSelfProbes.add(1, ordering: .relaxed)
        }
    }

    /// How the self probes were taken: the method that took most of them (HTTP/2 on a tie).
    var selfProbeMethod: SelfProbeMethod? {
        let http2 = http2SelfProbes.load(ordering: .relaxed)
        let tcpInfo = tcpInfoSelfProbes.load(ordering: .relaxed)
        if http2 == 0 && tcpInfo == 0 { return nil }
        return http2 >= tcpInfo ? .http2 : .tcpInfo
    }

    /// Records a probe that completed now. The instant is taken under the lock, so a probe is
    /// never stamped before an interval's end and filed after that interval was read.
    func record(_ kind: Kind, milliseconds: Double) {
        samples.withLock { $0.append(Sample(instant: .now, kind: kind, milliseconds: milliseconds)) }
    }

    func wantSelfProbe() { selfProbesWanted.add(1, ordering: .relaxed) }

    /// True, once, for each self probe wanted.
    func takeSelfProbeRequest() -> Bool {
        var wanted = selfProbesWanted.load(ordering: .relaxed)
        while wanted > 0 {
            let (exchanged, original) = selfProbesWanted.compareExchange(
                expected: wanted, desired: wanted - 1, ordering: .relaxed)
            if exchanged { return true }
            wanted = original
        }
        return false
    }

    /// The probes that completed in [from, to).
    func probes(from: ContinuousClock.Instant, to: ContinuousClock.Instant) -> IntervalProbes {
        samples.withLock { samples in
            var probes = IntervalProbes()
            for sample in samples where sample.instant >= from && sample.instant < to {
                switch sample.kind {
                case .tcp: probes.tcp.append(sample.milliseconds)
                case .tls: probes.tls.append(sample.milliseconds)
                case .http: probes.http.append(sample.milliseconds)
                case .loaded: probes.loaded.append(sample.milliseconds)
                }
            }
            return probes
        }
    }
}

/// Foreign probes on a thread of their own: one at a time, each a small GET on a new connection
/// (the TCP handshake, the TLS handshake per round trip, and the request's round trip), spaced
/// so that they stay under MPS per second and, at about 5000 bytes each (the draft's estimate),
/// under PTC of the goodput measured so far. Each asks the load for a self probe.
final class ForeignProber: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let thread = Mutex<BackgroundThread?>(nil)
    private let failures = Atomic<Int>(0)
    private let lastError = Mutex<String?>(nil)

    static let probeBytes = 5000.0

    init(
        endpoints: any SpeedTestEndpoints, ledger: ProbeLedger, parameters: ResponsivenessParameters,
        deadline: Deadline, goodput: @escaping @Sendable () -> Double?
    ) {
        let started = BackgroundThread { [self] in
            let transfer: EasyTransfer
            switch Result(catching: { () throws(HTTPError) in try EasyTransfer() }) {
            case .success(let made): transfer = made
            case .failure(let error):
                lastError.withLock { $0 = error.message }
                return
            }
            // One round trip for TLS 1.3's handshake; a server that only speaks TLS 1.2 takes two.
            var tls: TLSVersions = .only13
            while !stopped.load(ordering: .relaxed) && !deadline.hasPassed {
                let began = ContinuousClock.now
                var request = endpoints.latencyProbe()
                request.newConnection = true
                // The server closes first, so the probes' TIME_WAIT stays on its side.
                request.headers.set(name: "Connection", value: "close")
                request.tlsVersions = tls
                request.isCancelled = { [self] in stopped.load(ordering: .relaxed) }
                let limit = deadline.bounded(.seconds(5))
                request.timeouts = HTTPTimeouts(connect: limit, total: limit)
                switch Result(catching: { () throws(HTTPError) in try transfer.perform(request) }) {
                case .success(let response) where response.isSuccess:
                    record(response.metrics, tls: tls, into: ledger)
                    ledger.wantSelfProbe()
                case .success(let response):
                    failures.add(1, ordering: .relaxed)
                    lastError.withLock { $0 = "\(response.displayURL) answered HTTP \(response.status)" }
                case .failure(let error) where error.kind == .tls && tls == .only13:
                    tls = .upTo12
                    continue
                case .failure(let error):
                    if stopped.load(ordering: .relaxed) { break }
                    failures.add(1, ordering: .relaxed)
                    lastError.withLock { $0 = error.message }
                }
                let perSecond = min(
                    Double(parameters.maxProbesPerSecond) / 2,
                    goodput().map { $0 / 8 * parameters.probeCapacityShare / Self.probeBytes } ?? 10)
                let next = began + .seconds(1 / max(perSecond, 0.5))
                while !stopped.load(ordering: .relaxed) && ContinuousClock.now < next {
                    sleepPrecisely(min(.milliseconds(20), next - .now))
                }
            }
        }
        thread.withLock { $0 = started }
    }

    private func record(_ metrics: TransferMetrics, tls: TLSVersions, into ledger: ProbeLedger) {
        let tcp = metrics.connected - metrics.nameResolved
        ledger.record(.tcp, milliseconds: seconds(tcp) * 1000)
        if metrics.tlsDone > .zero {
            let handshake = metrics.tlsDone - metrics.connected
            ledger.record(.tls, milliseconds: seconds(handshake) * 1000 / (tls == .only13 ? 1 : 2))
        }
        let http = metrics.firstByte - max(metrics.connected, metrics.tlsDone)
        ledger.record(.http, milliseconds: seconds(http) * 1000)
    }

    /// Stops probing; the probes that failed, and the last error.
    func stop() -> (failures: Int, lastError: String?) {
        stopped.store(true, ordering: .relaxed)
        thread.withLock { $0 }?.join()
        return (failures.load(ordering: .relaxed), lastError.withLock { $0 })
    }
}

/// Milliseconds with two decimals.
private func milliseconds(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}

/// A value one thread sets and another reads.
final class LatestValue<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)

    var value: Value? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

/// The probes of one responsiveness test: the ledger, the goodput that budgets the foreign
/// probes, and their prober, started at once.
struct StageProbing: Sendable {
    let ledger: ProbeLedger
    let goodput: LatestValue<Double>
    let prober: ForeignProber
    private let parameters: ResponsivenessParameters

    init(
        endpoints: any SpeedTestEndpoints, parameters: ResponsivenessParameters, deadline: Deadline,
        initialGoodput: Double?
    ) {
        let (ledger, goodput) = (ProbeLedger(), LatestValue<Double>())
        goodput.value = initialGoodput
        self.ledger = ledger
        self.goodput = goodput
        self.parameters = parameters
        prober = ForeignProber(
            endpoints: endpoints, ledger: ledger, parameters: parameters, deadline: deadline,
            goodput: { goodput.value })
    }

    /// The test's summary line on standard error (for a terminal only, unless it was asked for),
    /// or the warning that it has no score and why.
    func report(
        _ score: ResponsivenessScore?, confidence: ResponsivenessConfidence, doing: String, test: String,
        intervals: Int, connections: String, goodputs: [Double?], probed: (failures: Int, lastError: String?),
        progress: LiveProgress, asked: Bool
    ) {
        guard let score else {
            progress.warn(
                "\(test) took no usable probes"
                    + (probed.lastError.map { " (\(probed.failures) failed; last: \($0))" } ?? ""))
            return
        }
        let rates = goodputs.map { milliseconds(($0 ?? 0) / 1e6) }.joined(separator: " + ")
        progress.note(
            "responsiveness while \(doing): \(Int(score.rpm.rounded())) RPM, \(confidence.rawValue) confidence "
                + "(foreign probes \(milliseconds(60000 / score.foreignRPM)) ms, self probes "
                + "(\(ledger.selfProbeMethod?.rawValue ?? "none")) \(milliseconds(60000 / score.loadedRPM)) ms "
                + "over the last \(min(intervals, parameters.movingAverageIntervals)) of \(intervals) intervals; "
                + "\(connections) connections at \(rates) Mbit/s)", asked: asked)
    }
}

/// What one responsiveness test found.
struct ResponsivenessOutcome: Sendable {
    var score: ResponsivenessScore?
    var confidence: ResponsivenessConfidence
    var intervals: Int
    var connections: Int
    var bytes: Int64
    var goodputBitsPerSecond: Double?
    var selfProbeMethod: SelfProbeMethod?
}

/// One responsiveness test under working conditions (draft-ietf-ippm-responsiveness): the load of
/// `direction`, started with INP connections and grown by INC each interval until goodput is
/// saturated, foreign probes alongside and self probes on the load connections, until
/// responsiveness is stable or `limit` passes.
struct ResponsivenessStage: Sendable {
    let direction: Direction
    let endpoints: any SpeedTestEndpoints
    let parameters: ResponsivenessParameters
    let limit: Duration
    let deadline: Deadline
    let progress: LiveProgress
    /// The throughput test's rate for this direction (bit/s): the probes' budget until the
    /// first interval has measured one.
    var initialGoodput: Double?
    /// Whether the test was asked for (else its summary line is only for a terminal).
    var asked = true
    var workers = LoadGenerator.defaultWorkers

    func run() throws(MeasureFailure) -> ResponsivenessOutcome {
        let probing = StageProbing(
            endpoints: endpoints, parameters: parameters, deadline: deadline, initialGoodput: initialGoodput)
        let (ledger, goodput) = (probing.ledger, probing.goodput)
        var load = LoadGenerator(
            direction: direction, endpoints: endpoints, deadline: deadline, workers: workers,
            maxStreams: parameters.maxConnections)
        load.selfProbes = ledger
        var conditions = WorkingConditions(parameters: parameters)
        // The connections actually running (the draft's count asks for one more at an interval
        // after which the test stops).
        var connections = conditions.connections
        var intervalStart: (elapsed: Duration, bytes: Int64) = (.zero, 0)
        let direction = direction
        let outcome = load.run(initialStreams: conditions.connections) { elapsed, bytes, instant in
            let start = instant - elapsed
            progress.show(direction, bytes: bytes, at: elapsed, streams: connections)
            if elapsed >= limit { return .stop(.duration) }
            if elapsed - intervalStart.elapsed >= parameters.interval {
                let probes = ledger.probes(from: start + intervalStart.elapsed, to: start + elapsed)
                let added = conditions.endInterval(
                    bytes: bytes - intervalStart.bytes, duration: elapsed - intervalStart.elapsed, probes: probes)
                intervalStart = (elapsed, bytes)
                goodput.value = conditions.goodputBitsPerSecond
                if conditions.isStable { return .stop(.stable) }
                if conditions.intervalBytes.count >= 2 && conditions.intervalBytes.suffix(2).allSatisfy({ $0 == 0 }) {
                    return .stop(.stalled)
                }
                // An interval that cannot end before the limit is not started.
                if elapsed + parameters.interval > limit { return .stop(.duration) }
                if added > 0 {
                    connections += added
                    return .addStreams(added)
                }
            }
            return .proceed
        }
        let probed = probing.prober.stop()
        if let failure = outcome.failure { throw failure }
        if outcome.stopReason == .stalled {
            throw MeasureFailure(
                .timeout,
                "the responsiveness test's \(direction.rawValue) against \(endpoints.serverURL) stalled: "
                    + "data stopped moving after \(outcome.last.bytes) bytes")
        }
        let score = conditions.current
        probing.report(
            score, confidence: conditions.confidence, doing: direction == .download ? "downloading" : "uploading",
            test: "the responsiveness test's \(direction.rawValue)", intervals: conditions.intervalBytes.count,
            connections: "\(connections)", goodputs: [conditions.goodputBitsPerSecond], probed: probed,
            progress: progress, asked: asked)
        return ResponsivenessOutcome(
            score: score, confidence: conditions.confidence, intervals: conditions.intervalBytes.count,
            connections: connections, bytes: outcome.last.bytes,
            goodputBitsPerSecond: conditions.goodputBitsPerSecond, selfProbeMethod: ledger.selfProbeMethod)
    }
}

/// What the parallel test found: one score with both directions loaded, and the bytes of each.
struct ParallelResponsivenessOutcome: Sendable {
    var combined: ResponsivenessOutcome
    var downloadBytes: Int64
    var uploadBytes: Int64
}

/// The draft's parallel test: the download and the upload load at once, each grown by its own
/// `WorkingConditions` until its goodput is saturated, with one set of probes (foreign, and self
/// probes on either direction's connections) and one score over them, until both are saturated
/// and the score is stable, or `limit` passes. The download's sampling thread coordinates; the
/// upload runs on a thread of its own and takes its orders from it.
struct ParallelResponsivenessStage: Sendable {
    let endpoints: any SpeedTestEndpoints
    let parameters: ResponsivenessParameters
    let limit: Duration
    let deadline: Deadline
    let progress: LiveProgress
    /// The throughput tests' rates (bit/s), summed for the probes' budget until measured.
    var initialGoodput: Double?
    /// Whether the test was asked for (else its summary line is only for a terminal).
    var asked = true
    var workers = LoadGenerator.defaultWorkers

    /// What the upload's thread and the coordinator share.
    private final class UploadSide: Sendable {
        let reading = Mutex<(elapsed: Duration, bytes: Int64)>((.zero, 0))
        let streamsToAdd = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let outcome = Mutex<LoadGenerator.Outcome?>(nil)
    }

    func run() throws(MeasureFailure) -> ParallelResponsivenessOutcome {
        let probing = StageProbing(
            endpoints: endpoints, parameters: parameters, deadline: deadline, initialGoodput: initialGoodput)
        let (ledger, goodput) = (probing.ledger, probing.goodput)
        var download = WorkingConditions(parameters: parameters)
        var upload = WorkingConditions(parameters: parameters)

        var uploadLoad = LoadGenerator(
            direction: .upload, endpoints: endpoints, deadline: deadline, workers: workers,
            maxStreams: parameters.maxConnections)
        uploadLoad.selfProbes = ledger
        let side = UploadSide()
        let initialUpload = upload.connections
        let uploadThread = BackgroundThread { [uploadLoad] in
            let outcome = uploadLoad.run(initialStreams: initialUpload) { elapsed, bytes, _ in
                side.reading.withLock { $0 = (elapsed, bytes) }
                if side.stopping.load(ordering: .relaxed) { return .stop(.duration) }
                let add = side.streamsToAdd.exchange(0, ordering: .relaxed)
                return add > 0 ? .addStreams(add) : .proceed
            }
            side.outcome.withLock { $0 = outcome }
        }
        guard let uploadThread else {
            _ = probing.prober.stop()
            throw MeasureFailure(.internal, "cannot start a thread for the parallel responsiveness test's upload")
        }

        var downloadLoad = LoadGenerator(
            direction: .download, endpoints: endpoints, deadline: deadline, workers: workers,
            maxStreams: parameters.maxConnections)
        downloadLoad.selfProbes = ledger
        var connections = (download: download.connections, upload: upload.connections)
        // Each load's interval is timed by its own samples (the upload's may lag the download's
        // by up to a sampling period).
        var intervalStart: (elapsed: Duration, download: Int64, uploadElapsed: Duration, upload: Int64) = (
            .zero, 0, .zero, 0
        )
        var stalled: Direction?
        let outcome = downloadLoad.run(initialStreams: download.connections) { elapsed, bytes, instant in
            let start = instant - elapsed
            let uploading = side.reading.withLock { (bytes: $0.bytes, at: $0.elapsed) }
            progress.show(download: (bytes, elapsed), upload: uploading, connections: connections)
            if elapsed >= limit { return .stop(.duration) }
            // The upload ended on its own: it failed, or the deadline passed.
            if side.outcome.withLock({ $0 != nil }) { return .stop(.duration) }
            guard elapsed - intervalStart.elapsed >= parameters.interval else { return .proceed }
            let (uploadElapsed, uploaded) = side.reading.withLock { ($0.elapsed, $0.bytes) }
            let duration = elapsed - intervalStart.elapsed
            let probes = ledger.probes(from: start + intervalStart.elapsed, to: start + elapsed)
            let addDownload = download.endInterval(
                bytes: bytes - intervalStart.download, duration: duration, probes: probes)
            let addUpload = upload.endInterval(
                bytes: uploaded - intervalStart.upload,
                duration: max(uploadElapsed - intervalStart.uploadElapsed, .milliseconds(1)), probes: probes)
            intervalStart = (elapsed, bytes, uploadElapsed, uploaded)
            goodput.value = (download.goodputBitsPerSecond ?? 0) + (upload.goodputBitsPerSecond ?? 0)
            if download.isStable && upload.isStable { return .stop(.stable) }
            for (direction, conditions) in [(Direction.download, download), (.upload, upload)]
            where conditions.intervalBytes.count >= 2 && conditions.intervalBytes.suffix(2).allSatisfy({ $0 == 0 }) {
                stalled = direction
                return .stop(.stalled)
            }
            if elapsed + parameters.interval > limit { return .stop(.duration) }
            if addUpload > 0 {
                connections.upload += addUpload
                side.streamsToAdd.add(addUpload, ordering: .relaxed)
            }
            if addDownload > 0 {
                connections.download += addDownload
                return .addStreams(addDownload)
            }
            return .proceed
        }
        side.stopping.store(true, ordering: .relaxed)
        uploadThread.join()
        let probed = probing.prober.stop()
        let uploaded = side.outcome.withLock { $0 }
        if let failure = outcome.failure ?? uploaded?.failure { throw failure }
        if let stalled {
            let moved = stalled == .download ? outcome.last.bytes : uploaded?.last.bytes ?? 0
            throw MeasureFailure(
                .timeout,
                "the parallel responsiveness test's \(stalled.rawValue) against \(endpoints.serverURL) stalled: "
                    + "data stopped moving after \(moved) bytes")
        }
        // Both directions' conditions saw the same probes; the score is theirs from the interval
        // after which the later direction was saturated on, and either's `current` is it.
        let confidence = min(download.confidence, upload.confidence)
        let score = download.current
        let total = (download.goodputBitsPerSecond ?? 0) + (upload.goodputBitsPerSecond ?? 0)
        probing.report(
            score, confidence: confidence, doing: "downloading and uploading",
            test: "the parallel responsiveness test", intervals: download.intervalBytes.count,
            connections: "\(connections.download) + \(connections.upload)",
            goodputs: [download.goodputBitsPerSecond, upload.goodputBitsPerSecond], probed: probed,
            progress: progress, asked: asked)
        return ParallelResponsivenessOutcome(
            combined: ResponsivenessOutcome(
                score: score, confidence: confidence, intervals: download.intervalBytes.count,
                connections: connections.download + connections.upload,
                bytes: outcome.last.bytes + (uploaded?.last.bytes ?? 0), goodputBitsPerSecond: total,
                selfProbeMethod: ledger.selfProbeMethod),
            downloadBytes: outcome.last.bytes, uploadBytes: uploaded?.last.bytes ?? 0)
    }
}
