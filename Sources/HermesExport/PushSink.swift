import HermesCore

/// A receiver a `PushSink` sends records to: Loki, a remote-write endpoint. Adding one is a type
/// conforming to this and one line in hermes-export's list of sinks.
public protocol PushTarget: AnyObject {
    /// The `sink` label of the spool metrics and the prefix of its spool queue: `loki`.
    var sinkName: String { get }
    /// How messages name it: "Loki".
    var displayName: String { get }
    /// What identifies the receiver (URL and tenant): each value has its own spool queue.
    var destination: String { get }
    /// Payload bytes per request, before compression.
    var maximumRequestBytes: Int { get }
    /// One record as the line the spool keeps and `push` sends: no line feed in it.
    func payload(for record: Record, _ context: ExportContext) -> [UInt8]
    /// Sends payloads as one request.
    func push(_ payloads: [[UInt8]]) throws(ExportError)
}

/// A push with a spool (`SpoolQueue`): each record is spooled first, then the spool is sent
/// oldest first, and an entry leaves it only when the receiver accepted it. A receiver that is
/// down leaves the records spooled for the next run (not an error: nothing is lost); one that
/// refuses a request for its content (400, 413 and other final 4xx) has that request set aside in
/// `rejected/`; one that can never work (401, 403, 404, 405, 407, a redirect, TLS setup) stops the
/// pushes and fails the run, the records still spooled. Without a spool (`--no-spool`, or a spool that cannot be written) records go straight
/// to the receiver and what it does not take is reported and counted as not pushed.
public final class PushSink: ExportSink {
    public let target: any PushTarget
    public let spoolSettings: SpoolSettings?
    /// The wall clock, for spool times and the age bound; replaceable in tests.
    public var now: () -> Timestamp = Timestamp.now
    private var queue: SpoolQueue?
    private var spoolUnusable = false
    private var pending: [[UInt8]] = []
    /// What this run's own segments hold, by file name: sent without reading them back.
    private var written: [String: [[UInt8]]] = [:]
    private var pendingBytes = 0
    /// The receiver cannot take more this run (down, or the configuration is wrong).
    private var stopped = false
    private var reportedBusy = false
    public private(set) var failure: ExportError?
    /// Records the receiver accepted this run, from the spool and new.
    public private(set) var pushed = 0
    /// Records neither delivered nor kept: only without a spool.
    public private(set) var notPushed = 0
    /// Records in requests refused for their content; in `rejected/` when there is a spool.
    public private(set) var refused = 0
    public private(set) var droppedAtBound = 0
    public private(set) var damaged = 0

    public init(_ target: any PushTarget, spool: SpoolSettings?) {
        self.target = target
        spoolSettings = spool
    }

    public var failureRank: ExportFailureRank { .push }
    public var hasPending: Bool { !pending.isEmpty }
    public var isFull: Bool { pendingBytes >= target.maximumRequestBytes }

    public func accept(_ record: Record, _ context: ExportContext) {
        if stopped && spoolSettings == nil {
            notPushed += 1
            return
        }
        let payload = target.payload(for: record, context)
        pending.append(payload)
        pendingBytes += payload.count
    }

    public func flush(_ reason: FlushReason, _ context: ExportContext) {
        guard reason != .settled else { return }
        let payloads = pending
        pending.removeAll()
        pendingBytes = 0
        if let queue = openQueue(context) {
            do {
                for segment in try queue.append(payloads, at: now(), segmentBytes: target.maximumRequestBytes) {
                    written[segment.fileName] = segment.payloads
                }
                sendSpool(queue, context)
            } catch {
                // Not kept on disk: these go straight out, and the spool is left alone for the run.
                spoolFailed(.spool(error), context)
                pushDirectly(payloads, context)
            }
        } else {
            pushDirectly(payloads, context)
        }
        if reason == .endOfInput { settle(context) }
    }

    private func openQueue(_ context: ExportContext) -> SpoolQueue? {
        if let queue { return queue }
        guard let spoolSettings, !spoolUnusable else { return nil }
        do {
            queue = try SpoolQueue(settings: spoolSettings, sink: target.sinkName, destination: target.destination)
        } catch {
            spoolFailed(.spool(error), context)
        }
        return queue
    }

    private func spoolFailed(_ error: ExportError, _ context: ExportContext) {
        context.diagnostics.report("\(error); pushing to \(target.displayName) without the spool this run")
        spoolUnusable = true
        queue = nil
        failure = failure ?? error
    }

    /// Sends the queue oldest first, in requests of at most `maximumRequestBytes`, until it is
    /// empty or the receiver stops taking records.
    private func sendSpool(_ queue: SpoolQueue, _ context: ExportContext) {
        do {
            guard try queue.lockForSending() else {
                if !reportedBusy {
                    context.diagnostics.report(
                        "another hermes-export is sending the \(target.displayName) spool; the records of this run wait in it for that run or the next"
                    )
                    reportedBusy = true
                }
                return
            }
        } catch {
            spoolFailed(.spool(error), context)
            return
        }
        if let spoolSettings {
            let dropped = queue.enforceBounds(spoolSettings, now: now())
            if dropped > 0 {
                droppedAtBound += dropped
                let message =
                    "the \(target.displayName) spool reached its bound (\(ByteSize.format(spoolSettings.maximumBytes)), \(DurationSyntax.format(spoolSettings.maximumAge))): dropped the \(dropped) oldest record(s)"
                context.diagnostics.report(message)
                failure = failure ?? .spoolDropped(message: message)
            }
        }
        // The bounds hold even while the receiver is down: a backfill into a dead Loki must not
        // grow the spool past them within one run.
        while !stopped {
            let segments = queue.segments()
            guard !segments.isEmpty else { return }
            var group: [SpoolQueue.Segment] = []
            var bytes = 0
            // Consecutive segments only: the queue's order is the order records reach the receiver.
            for segment in segments {
                guard group.isEmpty || bytes + segment.bytes <= target.maximumRequestBytes else { break }
                group.append(segment)
                bytes += segment.bytes
            }
            var payloads: [[UInt8]] = []
            for segment in group {
                if let own = written.removeValue(forKey: segment.fileName) {
                    payloads += own
                    continue
                }
                do {
                    let contents = try queue.read(segment)
                    payloads += contents.payloads
                    if !contents.damaged.isEmpty && !setAsideDamaged(contents.damaged, of: segment, queue, context) {
                        return
                    }
                } catch {
                    spoolFailed(.spool(error), context)
                    return
                }
            }
            if !payloads.isEmpty && !send(payloads, from: queue, context) { return }
            do {
                for segment in group { try queue.remove(segment) }
            } catch {
                // Sent but still queued: stop here, or the same records would go out again and again.
                spoolFailed(.spool(error), context)
                return
            }
        }
    }

    /// True when the payloads are done with: accepted, or refused and set aside.
    private func send(_ payloads: [[UInt8]], from queue: SpoolQueue, _ context: ExportContext) -> Bool {
        do {
            try target.push(payloads)
            pushed += payloads.count
            return true
        } catch {
            context.diagnostics.report(error.description)
            if error.refusesOnlyThisBatch {
                do {
                    let path = try queue.reject(payloads, reason: error.description, at: now())
                    context.diagnostics.report("set the \(payloads.count) refused record(s) aside in \(path)")
                } catch {
                    spoolFailed(.spool(error), context)
                    return false
                }
                refused += payloads.count
                failure = failure ?? error
                return true
            }
            stopped = true
            // A receiver that is down leaves the records spooled: the timer's next run sends them,
            // so it is no failure of this one. Anything else needs a person.
            if error.exitCode != .temporaryFailure { failure = failure ?? error }
            return false
        }
    }

    /// Copies damaged entries to `rejected/`; false (the segment must stay) when that fails.
    private func setAsideDamaged(
        _ damaged: [(line: Int, bytes: [UInt8])], of segment: SpoolQueue.Segment, _ queue: SpoolQueue,
        _ context: ExportContext
    ) -> Bool {
        let lines = damaged.map { String($0.line) }.joined(separator: ", ")
        let reason = "damaged entries (checksum or shape) at line(s) \(lines) of \(queue.directory)/\(segment.fileName)"
        let path: String
        do { path = try queue.reject(damaged.map(\.bytes), reason: reason, at: now()) } catch {
            spoolFailed(.spool(error), context)
            return false
        }
        self.damaged += damaged.count
        let message = "\(reason): skipped, the rest sent; their bytes are in \(path)"
        context.diagnostics.report(message)
        failure = failure ?? .spoolDamaged(message: message)
        return true
    }

    private func pushDirectly(_ payloads: [[UInt8]], _ context: ExportContext) {
        var start = 0
        while start < payloads.count {
            guard !stopped else {
                notPushed += payloads.count - start
                return
            }
            var end = start
            var bytes = 0
            while end < payloads.count && (end == start || bytes + payloads[end].count <= target.maximumRequestBytes) {
                bytes += payloads[end].count
                end += 1
            }
            let request = Array(payloads[start..<end])
            do {
                try target.push(request)
                pushed += request.count
            } catch {
                context.diagnostics.report(error.description)
                if error.refusesOnlyThisBatch {
                    refused += request.count
                } else {
                    stopped = true
                    notPushed += request.count
                }
                failure = failure ?? error
            }
            start = end
        }
    }

    /// The spool metrics, at the end of the run.
    private func settle(_ context: ExportContext) {
        guard let queue else { return }
        let segments = queue.segments()
        context.setSpool(
            target.sinkName, entries: segments.reduce(0) { $0 + $1.entries },
            oldestSpooled: segments.first?.spooledAt, dropped: droppedAtBound)
    }

    public func closingReport() -> [String] {
        var lines: [String] = []
        if refused > 0 {
            lines.append(
                queue == nil
                    ? "\(target.displayName) refused requests holding \(refused) record(s); it may have stored some of them"
                    : "\(target.displayName) refused requests holding \(refused) record(s); they are in \(spoolSettings?.root ?? "")/rejected"
            )
        }
        if notPushed > 0 { lines.append("\(notPushed) record(s) not pushed to \(target.displayName)") }
        if let queue {
            let segments = queue.segments()
            let waiting = segments.reduce(0) { $0 + $1.entries }
            if waiting > 0, let oldest = segments.first?.spooledAt {
                lines.append(
                    "\(waiting) record(s) wait in the spool for \(target.displayName) (\(queue.directory), the oldest spooled \(oldest)); the next run sends them"
                )
            }
        }
        return lines
    }
}
