import HermesCore

/// `hermes-export`: records from a descriptor into its sinks (a Prometheus textfile, an
/// exposition on standard output, Loki, `--tee`), in any combination.
///
/// Records are handled as they arrive. Whenever the producer goes quiet (a timer run's one
/// record, or a slow stream) the sinks flush, so a long-running pipe never holds its data back;
/// a bulk input is pushed in full batches. Each sink fails on its own: a dead Loki never stops the
/// textfile or `--tee`. The exit status comes from one rule (`ExportFailureRank`).
public struct Export {
    /// In the order they flush: the tee first (cheap, and the pipe must not wait for the network),
    /// then files, then pushes, then the end-of-input exposition.
    public var sinks: [any ExportSink]
    public var compatibilityMetrics = false
    /// `--label` pairs for every metric sample.
    public var labels: [(name: String, value: String)] = []
    /// `--series-labels`: label every sample with its series even when there is one, for
    /// textfiles that share a node_exporter directory (one per link, hermes@.service).
    public var labelsSeries = false
    public var diagnostics: Diagnostics
    public var quietMilliseconds: Int32 = 20
    /// The wall clock, replaceable in tests; see `MetricState.apply(_:horizon:)`.
    public var now: () -> Timestamp = Timestamp.now

    public init(sinks: [any ExportSink], diagnostics: Diagnostics) {
        self.sinks = sinks
        self.diagnostics = diagnostics
    }

    public struct Summary: Equatable, Sendable {
        public var records = 0
        public var rejected = 0
        public var exitCode: ExitCode = .success
    }

    public func run(reading fileDescriptor: Int32) -> Summary {
        let context = ExportContext(
            diagnostics: diagnostics, compatibilityMetrics: compatibilityMetrics, labels: labels)
        for sink in sinks {
            if let restored = sink.restoreState(context) { context.state = restored }
        }
        context.state.labelsSeries = labelsSeries
        var summary = Summary()
        var inputError: ExportError?
        var reader = RecordReader(fileDescriptor: fileDescriptor)
        reading: while true {
            let item: RecordReader.Item?
            do { item = try reader.next() } catch {
                diagnostics.report(error.description)
                inputError = .input(error)
                break reading
            }
            guard let item else { break }
            switch item {
            case .rejected(let line, let reason):
                diagnostics.report("line \(line): \(reason)")
                summary.rejected += 1
            case .record(let record, _):
                summary.records += 1
                // The clock is read per record: an export fed by a long-running producer outlives
                // any horizon fixed at its start.
                context.state.apply(
                    record, horizon: now().adding(milliseconds: MetricState.futureSlackMilliseconds))
                for sink in sinks { sink.accept(record, context) }
            }
            if sinks.contains(where: \.isFull) {
                flush(.batchFull, context)
            } else if sinks.contains(where: \.hasPending), !reader.awaitInput(milliseconds: quietMilliseconds) {
                flush(.quiet, context)
            }
        }
        flush(.endOfInput, context)
        // Spool metrics only for the pushes of this run: a receiver no longer configured must not
        // keep its last figures (an alert on hermes_spool_entries would never clear).
        context.state.spools = context.state.spools.filter { context.spoolsReported.contains($0.key) }
        flush(.settled, context)

        if summary.rejected > 0 {
            diagnostics.report("\(summary.rejected) line(s) rejected; \(summary.records) record(s) exported")
        }
        for sink in sinks {
            for line in sink.closingReport() { diagnostics.report(line) }
        }
        summary.exitCode = Self.exitCode(inputError: inputError, sinks: sinks, rejected: summary.rejected)
        return summary
    }

    private func flush(_ reason: FlushReason, _ context: ExportContext) {
        for sink in sinks { sink.flush(reason, context) }
    }

    /// The most specific failure wins: the input or a local output, then the textfile, then a
    /// push, each in the sinks' order; then rejected input lines.
    static func exitCode(inputError: ExportError?, sinks: [any ExportSink], rejected: Int) -> ExitCode {
        if let inputError { return inputError.exitCode }
        let failures = sinks.compactMap { sink in sink.failure.map { (sink.failureRank, $0) } }
        if let worst = failures.max(by: { $0.0 < $1.0 }) {
            // `max` keeps the last of equals; the first sink of the highest rank decides.
            let first = failures.first { $0.0 == worst.0 }
            return (first ?? worst).1.exitCode
        }
        return rejected > 0 ? .dataError : .success
    }
}
