import CCurl

/// Runs many requests at once on the calling thread with libcurl's multi interface. Each request
/// keeps its own timeouts, so one that never answers delays no other beyond its own limit.
/// Connections stay cached in the `MultiTransfer` between runs.
///
/// Not `Sendable`, for the same reason as `EasyTransfer`.
public final class MultiTransfer {
    private let multi: UnsafeMutableRawPointer
    private let multiplexes: Bool

    /// - Parameter multiplex: allow HTTP/2 transfers to the same host to share one connection.
    ///   Off by default because a speed test wants one TCP connection per stream.
    public init(multiplex: Bool = false) throws(HTTPError) {
        try CurlLibrary.ensureInitialized()
        guard let multi = curl_multi_init() else {
            throw HTTPError(kind: .internal, message: "libcurl could not create a multi handle")
        }
        self.multi = multi
        multiplexes = multiplex
        let pipelining = multiplex ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING
        let code = hermes_multi_setopt_long(multi, CURLMOPT_PIPELINING, pipelining)
        guard code == CURLM_OK else {
            curl_multi_cleanup(multi)
            throw HTTPError(kind: .internal, message: "libcurl refused the multiplexing setting")
        }
    }

    deinit {
        curl_multi_cleanup(multi)
    }

    /// Performs all `requests` concurrently and returns one result per transfer, in order,
    /// including the transfers `onProgress` started.
    ///
    /// `onProgress` runs on this thread between libcurl's work, at least every
    /// `progressInterval` while any transfer is unfinished (a busy loop can make a call a little
    /// late, never skip it), and also as soon as a transfer finishes, so that the caller can
    /// start another before the run ends. It may cancel and start transfers through its answer.
    public func perform(
        _ requests: [HTTPRequest],
        progressInterval: Duration = .milliseconds(100),
        onProgress: (TransferProgress) -> ProgressDecision = { _ in .proceed }
    ) -> [Result<HTTPResponse, HTTPError>] {
        var run = MultiRun(multi: multi, multiplexes: multiplexes, requests: requests)
        defer { run.detachAll() }
        let interval = max(progressInterval, .milliseconds(1))
        let clock = ContinuousClock()
        let start = clock.now
        var nextProgress = start + interval

        while run.hasActiveTransfers {
            var running: Int32 = 0
            let performCode = curl_multi_perform(multi, &running)
            guard performCode == CURLM_OK else {
                run.failActive(multiCode: performCode)
                break
            }
            let someFinished = run.collectFinished()

            var now = clock.now
            if now >= nextProgress || someFinished {
                let decision = onProgress(run.progress(at: now, since: start))
                run.apply(decision)
                if now >= nextProgress {
                    nextProgress += interval
                    if nextProgress <= now {
                        nextProgress = now + interval
                    }
                }
                now = clock.now
            }
            guard run.hasActiveTransfers else { break }
            // libcurl shortens the wait when one of its own timers (a request timeout) is due.
            let waitMilliseconds = min(1000, (nextProgress - now).wholeMillisecondsRoundedUp)
            let pollCode = curl_multi_poll(multi, nil, 0, Int32(waitMilliseconds), nil)
            guard pollCode == CURLM_OK else {
                run.failActive(multiCode: pollCode)
                break
            }
        }
        return run.results()
    }
}

/// The bookkeeping of one `MultiTransfer.perform` call: which handle belongs to which request,
/// and the results so far.
private struct MultiRun {
    let multi: UnsafeMutableRawPointer
    /// The multi handle's own multiplexing setting, restored after a request that rides a busy
    /// connection has been started.
    let multiplexes: Bool
    private(set) var requests: [HTTPRequest] = []
    private var handles: [EasyHandle?] = []
    private var outcomes: [Result<HTTPResponse, HTTPError>?] = []
    private var finalCounts: [ByteCounts] = []
    private var activeIndexByHandle: [UnsafeMutableRawPointer: Int] = [:]
    /// Finished since the last progress report.
    private var unreported: [Int] = []

    init(multi: UnsafeMutableRawPointer, multiplexes: Bool, requests: [HTTPRequest]) {
        self.multi = multi
        self.multiplexes = multiplexes
        start(requests)
    }

    /// Starts `requests`. Those that ride a busy connection start last, in a step of their own:
    /// libcurl picks a transfer's connection when it first drives it, so the others are driven
    /// once first (a new load connection must not become a stream on another's), then
    /// multiplexing is allowed while libcurl places the riders, then set back.
    private mutating func start(_ requests: [HTTPRequest]) {
        for request in requests where !request.multiplexesOnBusyConnection {
            start(request)
        }
        let riders = requests.filter(\.multiplexesOnBusyConnection)
        guard !riders.isEmpty else { return }
        var running: Int32 = 0
        if !multiplexes {
            _ = curl_multi_perform(multi, &running)
            _ = hermes_multi_setopt_long(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX)
        }
        for request in riders {
            start(request)
        }
        if !multiplexes {
            _ = curl_multi_perform(multi, &running)
            _ = hermes_multi_setopt_long(multi, CURLMOPT_PIPELINING, CURLPIPE_NOTHING)
        }
    }

    var hasActiveTransfers: Bool { !activeIndexByHandle.isEmpty }

    private mutating func start(_ request: HTTPRequest) {
        let index = requests.count
        requests.append(request)
        handles.append(nil)
        outcomes.append(nil)
        finalCounts.append(ByteCounts())
        do throws(HTTPError) {
            let handle = try EasyHandle()
            try handle.prepare(for: request)
            let code = curl_multi_add_handle(multi, handle.raw)
            guard code == CURLM_OK else {
                outcomes[index] = .failure(Self.error(for: code, displayURL: request.displayURL))
                unreported.append(index)
                return
            }
            handles[index] = handle
            activeIndexByHandle[handle.raw] = index
        } catch {
            outcomes[index] = .failure(error)
            unreported.append(index)
        }
    }

    /// True when a transfer finished.
    mutating func collectFinished() -> Bool {
        let before = unreported.count
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE,
                let easy = message.pointee.easy_handle,
                let index = activeIndexByHandle[easy],
                let handle = handles[index]
            else { continue }
            // Read before detaching: the message is only valid until the handle is removed.
            let code = message.pointee.data.result
            finish(index, with: handle.outcome(of: code))
        }
        return unreported.count > before
    }

    mutating func apply(_ decision: ProgressDecision) {
        let indices =
            decision.cancelAll
            ? Array(activeIndexByHandle.values) : decision.cancel.filter { activeIndexByHandle.values.contains($0) }
        for index in indices {
            guard let handle = handles[index] else { continue }
            finish(index, with: .failure(handle.stoppedByCaller()))
        }
        start(decision.start)
    }

    mutating func failActive(multiCode: CURLMcode) {
        for index in activeIndexByHandle.values {
            finish(index, with: .failure(Self.error(for: multiCode, displayURL: requests[index].displayURL)))
        }
    }

    private mutating func finish(_ index: Int, with outcome: Result<HTTPResponse, HTTPError>) {
        guard let handle = handles[index] else { return }
        finalCounts[index] = handle.byteCounts
        curl_multi_remove_handle(multi, handle.raw)
        activeIndexByHandle[handle.raw] = nil
        outcomes[index] = outcome
        unreported.append(index)
    }

    mutating func progress(at instant: ContinuousClock.Instant, since start: ContinuousClock.Instant)
        -> TransferProgress
    {
        let finished = unreported.compactMap { index in outcomes[index].map { (index, $0) } }
        unreported.removeAll()
        let snapshots = requests.indices.map { index in
            let isActive = outcomes[index] == nil
            let counts = isActive ? handles[index]?.byteCounts ?? ByteCounts() : finalCounts[index]
            return TransferSnapshot(
                bytesReceived: counts.received,
                bytesSent: counts.sent,
                bytesUnacknowledged: isActive ? min(counts.unacknowledged, counts.sent) : 0,
                roundTrip: isActive ? counts.roundTripMicroseconds.map { .microseconds($0) } : nil,
                isFinished: !isActive
            )
        }
        return TransferProgress(
            instant: instant, elapsed: instant - start, transfers: snapshots, finished: finished)
    }

    /// A handle must leave the multi handle before it is cleaned up.
    mutating func detachAll() {
        for handle in activeIndexByHandle.keys {
            curl_multi_remove_handle(multi, handle)
        }
        activeIndexByHandle.removeAll()
    }

    func results() -> [Result<HTTPResponse, HTTPError>] {
        outcomes.enumerated().map { index, outcome in
            outcome
                ?? .failure(
                    HTTPError(
                        kind: .internal,
                        displayURL: requests[index].displayURL,
                        detail: "the transfer ended without a result"
                    )
                )
        }
    }

    private static func error(for code: CURLMcode, displayURL: String) -> HTTPError {
        let reason = curl_multi_strerror(code).map { String(cString: $0) } ?? "multi error \(code.rawValue)"
        return HTTPError(kind: .internal, displayURL: displayURL, detail: reason)
    }
}
