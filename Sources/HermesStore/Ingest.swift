import HermesCore

/// `hermes-store` without a subcommand: records from a descriptor into every configured store.
///
/// Records are committed in batches for bulk imports, and whenever the producer goes quiet, so a
/// record from a timer run is stored before the next one arrives. A rejected line is reported and
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
    public var tee: OutputStream?
    public var diagnostics: Diagnostics
    public var batchSize = 10_000
    /// How long a quiet producer may leave records uncommitted.
    public var quietMilliseconds: Int32 = 20
    public var clock: () -> Timestamp = Timestamp.now

    public init(destinations: [Destination], tee: OutputStream?, diagnostics: Diagnostics) {
        self.destinations = destinations
        self.tee = tee
        self.diagnostics = diagnostics
    }

    public func run(reading fileDescriptor: Int32) -> Summary {
        var summary = Summary()
        var reader = RecordReader(fileDescriptor: fileDescriptor)
        var pending: [Record] = []
        pending.reserveCapacity(batchSize)
        do throws(IngestError) {
            while true {
                let item: RecordReader.Item?
                do { item = try reader.next() } catch { throw .input(error) }
                guard let item else { break }
                switch item {
                case .rejected(let line, let reason):
                    diagnostics.report("line \(line): \(reason)")
                    summary.rejected += 1
                case .record(let record, _):
                    pending.append(record)
                }
                if pending.count >= batchSize
                    || (!pending.isEmpty && !reader.awaitInput(milliseconds: quietMilliseconds))
                {
                    try commit(&pending, summary: &summary)
                }
            }
            try commit(&pending, summary: &summary)
            for destination in destinations {
                do {
                    summary.removedByRetention += try destination.store.applyRetention(destination.retention, now: clock())
                    try destination.store.close()
                } catch {
                    throw .store(error)
                }
                if let csv = destination.store as? CSVStore {
                    csv.warnings.forEach { diagnostics.report($0) }
                }
            }
        } catch {
            diagnostics.report(error.description)
            summary.exitCode = error.exitCode
            return summary
        }
        if summary.rejected > 0 {
            diagnostics.report("\(summary.rejected) line(s) rejected; \(summary.stored) record(s) stored")
            summary.exitCode = .dataError
        }
        return summary
    }

    private func commit(_ pending: inout [Record], summary: inout Summary) throws(IngestError) {
        guard !pending.isEmpty else { return }
        for destination in destinations {
            do { try destination.store.append(pending) } catch { throw .store(error) }
        }
        summary.stored += pending.count
        if let tee {
            do {
                for record in pending { try tee.write(RecordEncoder.encode(record)) }
                try tee.flush()
            } catch {
                throw .output(error)
            }
        }
        pending.removeAll(keepingCapacity: true)
    }
}

enum IngestError: Error, CustomStringConvertible {
    case input(IOError)
    case output(IOError)
    case store(StoreError)

    var description: String {
        switch self {
        case .input(let error), .output(let error): error.description
        case .store(let error): error.description
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .input, .output: .ioError
        case .store(let error): error.exitCode
        }
    }
}
