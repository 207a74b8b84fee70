import HermesCore

/// `hermes-store` without a subcommand: records from a descriptor into every configured store.
///
/// One thread reads and decodes while the calling thread writes, so a bulk import uses both
/// cores. Records are committed in batches, and whenever the producer goes quiet, so a record
/// from a timer run is stored before the next one arrives. A rejected line is reported and
/// skipped; it never rolls back valid records around it.
public struct Ingest {
    public struct Destination {
        public var store: any RecordStore
        public var retention: RetentionPolicy

        public init(store: any RecordStore, retention: RetentionPolicy) {
            self.store = store
            self.retention = retention
        }
    }

    public struct Summary: Equatable, Sendable {
        public var stored = 0
        public var rejected = 0
        public var removedByRetention = 0
        public var exitCode: ExitCode = .success
    }

    public var destinations: [Destination]
    public var tee: BufferedOutput?
    public var diagnostics: Diagnostics
    public var batchSize = 10_000
    /// How long a quiet producer may leave records uncommitted.
    public var quietMilliseconds: Int32 = 20
    public var clock: () -> Timestamp = Timestamp.now

    public init(destinations: [Destination], tee: BufferedOutput?, diagnostics: Diagnostics) {
        self.destinations = destinations
        for destination in destinations {
            (destination.store as? CSVStore)?.report = { diagnostics.report($0) }
        }
        self.tee = tee
        self.diagnostics = diagnostics
    }

    /// What the reading thread hands to the writing one. A batch is `settled` when the producer
    /// paused or ended after it: that is a timer run's record, which must survive a power cut.
    private enum Message: Sendable {
        case batch([Record], rejected: Int, settled: Bool)
        case end(rejected: Int)
        case failed(IOError, rejected: Int)
    }

    public func run(reading fileDescriptor: Int32) -> Summary {
        var summary = Summary()
        let queue = BoundedQueue<Message>(capacity: 2)
        let (batchSize, quiet, diagnostics) = (batchSize, quietMilliseconds, diagnostics)
        guard
            let reader = BackgroundThread({
                Self.read(
                    fileDescriptor, into: queue, batchSize: batchSize, quietMilliseconds: quiet,
                    diagnostics: diagnostics)
            })
        else {
            diagnostics.report("cannot start a thread to read standard input")
            summary.exitCode = .ioError
            return summary
        }
        var tee = self.tee
        var teeFailure: IOError?
        do throws(IngestError) {
            reading: while let message = queue.pop() {
                switch message {
                case .batch(let records, let rejected, let settled):
                    // The reader counted it as work in hand when it queued it (see `read`).
                    defer { StopDeadline.finishedWork() }
                    summary.rejected += rejected
                    try store(records, durably: settled, summary: &summary)
                    do throws(IOError) {
                        try passOn(records, to: tee)
                    } catch {
                        // Storing is the job: a reader that went away downstream does not stop it.
                        diagnostics.report("\(error.description); still storing, no longer passing records on")
                        teeFailure = error
                        tee = nil
                    }
                case .end(let rejected):
                    summary.rejected += rejected
                    break reading
                case .failed(let error, let rejected):
                    summary.rejected += rejected
                    throw .input(error)
                }
            }
            reader.join()
            try finish(&summary)
            StopDeadline.finishedWork()
        } catch {
            // The reader may be blocked on a producer that never ends: let it go with the process.
            queue.close()
            reader.detach()
            diagnostics.report(error.description)
            summary.exitCode = error.exitCode
            return summary
        }
        if summary.rejected > 0 {
            diagnostics.report("\(summary.rejected) line(s) rejected; \(summary.stored) record(s) stored")
            summary.exitCode = .dataError
        }
        if teeFailure != nil { summary.exitCode = .ioError }
        return summary
    }

    /// The reading thread: decodes lines into batches, reports rejected lines as it finds them.
    private static func read(
        _ fileDescriptor: Int32, into queue: BoundedQueue<Message>, batchSize: Int, quietMilliseconds: Int32,
        diagnostics: Diagnostics
    ) {
        var reader = RecordReader(fileDescriptor: fileDescriptor)
        var batch: [Record] = []
        var rejected = 0
        batch.reserveCapacity(batchSize)
        reading: while true {
            let item: RecordReader.Item?
            do {
                item = try reader.next()
            } catch {
                queue.push(.failed(error, rejected: rejected))
                return
            }
            // Consumed, so the record moves into the batch instead of being copied.
            switch consume item {
            case .none: break reading
            case .rejected(let line, let reason):
                diagnostics.report("line \(line): \(reason)")
                rejected += 1
            case .record(let record, _):
                batch.append(record)
            }
            guard !batch.isEmpty else { continue }
            let full = batch.count >= batchSize
            if full || !reader.awaitInput(milliseconds: quietMilliseconds) {
                // Work in hand from here until stored: SIGTERM's alarm lets it finish.
                StopDeadline.startedWork()
                guard queue.push(.batch(batch, rejected: rejected, settled: !full)) else { return }
                batch.removeAll(keepingCapacity: true)
                rejected = 0
            }
        }
        if !batch.isEmpty {
            StopDeadline.startedWork()
            queue.push(.batch(batch, rejected: 0, settled: true))
        }
        // The end is work too: retention and closing the stores.
        StopDeadline.startedWork()
        queue.push(.end(rejected: rejected))
    }

    private func store(_ records: [Record], durably: Bool, summary: inout Summary) throws(IngestError) {
        guard !records.isEmpty else { return }
        for destination in destinations {
            do { try destination.store.append(records, durable: durably) } catch { throw .store(error) }
        }
        summary.stored += records.count
    }

    /// `--tee`: records go on only once they are stored.
    private func passOn(_ records: [Record], to tee: BufferedOutput?) throws(IOError) {
        guard let tee else { return }
        for record in records { try tee.write(RecordEncoder.encode(record)) }
        try tee.flush()
    }

    private func finish(_ summary: inout Summary) throws(IngestError) {
        for destination in destinations {
            do {
                summary.removedByRetention += try destination.store.applyRetention(destination.retention, now: clock())
                try destination.store.close()
            } catch {
                throw .store(error)
            }
            if let csv = destination.store as? CSVStore {
                for warning in csv.warnings { diagnostics.report(warning) }
            }
        }
    }
}

enum IngestError: Error, CustomStringConvertible {
    case input(IOError)
    case store(StoreError)

    var description: String {
        switch self {
        case .input(let error): error.description
        case .store(let error): error.description
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .input: .ioError
        case .store(let error): error.exitCode
        }
    }
}
