import HermesCore

/// `hermes-export`: records from a descriptor into a Prometheus textfile, an exposition on
/// standard output, Loki, and `--tee`, in any combination.
///
/// Records are handled as they arrive. Whenever the producer goes quiet (a timer run's one
/// record, or a slow stream) the textfile is rewritten and pending Loki lines are pushed, so a
/// long-running pipe never holds its data back; a bulk input is pushed in full batches. Each
/// output fails on its own: a dead Loki never stops the textfile or `--tee`.
public struct Export {
    public var textfile: Textfile?
    /// Receives the exposition once, at the end of the input (`--prometheus`).
    public var exposition: BufferedOutput?
    public var compatibilityMetrics = false
    public var loki: LokiClient?
    public var tee: BufferedOutput?
    public var diagnostics: Diagnostics
    public var quietMilliseconds: Int32 = 20
    /// The wall clock, replaceable in tests; see `MetricState.apply(_:horizon:)`.
    public var now: () -> Timestamp = Timestamp.now

    public init(diagnostics: Diagnostics) {
        self.diagnostics = diagnostics
    }

    public struct Summary: Equatable, Sendable {
        public var records = 0
        public var rejected = 0
        public var pushed = 0
        public var notPushed = 0
        /// Records in requests Loki answered with a final 4xx (400, 413): it may have kept some.
        public var refusedByLoki = 0
        public var exitCode: ExitCode = .success
    }

    /// The state of one run; a class so the helpers can share it without inout plumbing.
    private final class Run {
        var state = MetricState()
        var stateChanged = false
        var batch: LokiBatch?
        var summary = Summary()
        var textfileError: ExportError?
        var lokiError: ExportError?
        /// Set when Loki cannot take anything more this run (unreachable, wrong credentials or
        /// URL); a batch Loki merely refused does not stop the ones after it.
        var lokiStopped = false
        var outputError: ExportError?
    }

    public func run(reading fileDescriptor: Int32) -> Summary {
        let run = Run()
        if let loki { run.batch = LokiBatch(staticLabels: loki.configuration.staticLabels) }
        if let textfile {
            do { run.state = try textfile.readState() } catch {
                diagnostics.report("\(error); the textfile is left as it is")
                run.textfileError = error
            }
        }
        var reader = RecordReader(fileDescriptor: fileDescriptor)
        reading: while true {
            let item: RecordReader.Item?
            do { item = try reader.next() } catch {
                diagnostics.report(error.description)
                run.outputError = run.outputError ?? .input(error)
                break reading
            }
            guard let item else { break }
            switch item {
            case .rejected(let line, let reason):
                diagnostics.report("line \(line): \(reason)")
                run.summary.rejected += 1
            case .record(let record, _):
                accept(record, into: run)
            }
            if let batch = run.batch, let loki, batch.lineBytes >= loki.configuration.maximumBatchBytes {
                flush(run, textfile: false)
            } else if run.stateChanged || !(run.batch?.isEmpty ?? true),
                !reader.awaitInput(milliseconds: quietMilliseconds)
            {
                flush(run, textfile: true)
            }
        }
        flush(run, textfile: true)
        if let exposition, run.state.lastRun != nil {
            do {
                try exposition.write(Exposition.render(run.state, compatibility: compatibilityMetrics))
                try exposition.flush()
            } catch {
                diagnostics.report(error.description)
                run.outputError = run.outputError ?? .output(error)
            }
        }
        return finish(run)
    }

    private func accept(_ record: Record, into run: Run) {
        run.summary.records += 1
        // The clock is read per record: an export fed by a long-running producer outlives any
        // horizon fixed at its start.
        run.state.apply(record, horizon: now().adding(milliseconds: MetricState.futureSlackMilliseconds))
        run.stateChanged = true
        if let tee, run.outputError == nil {
            do { try tee.write(RecordEncoder.encode(record)) } catch {
                diagnostics.report(error.description)
                run.outputError = .output(error)
            }
        }
        if !run.lokiStopped {
            run.batch?.append(record)
        } else {
            run.summary.notPushed += 1
        }
    }

    /// Makes everything accepted so far visible downstream: tee first (it is cheap and must not
    /// wait for the network), then the textfile, then Loki.
    private func flush(_ run: Run, textfile writeTextfile: Bool) {
        if let tee, run.outputError == nil {
            do { try tee.flush() } catch {
                diagnostics.report(error.description)
                run.outputError = .output(error)
            }
        }
        if writeTextfile, run.stateChanged, let textfile, run.textfileError == nil {
            do {
                try textfile.write(Exposition.render(run.state, compatibility: compatibilityMetrics))
                run.stateChanged = false
            } catch {
                diagnostics.report(error.description)
                run.textfileError = error
            }
        }
        if let loki, let batch = run.batch, !batch.isEmpty {
            do {
                try loki.push(batch)
                run.summary.pushed += batch.recordCount
            } catch {
                diagnostics.report(error.description)
                if error.refusesOnlyThisBatch {
                    run.summary.refusedByLoki += batch.recordCount
                    if run.lokiError == nil { run.lokiError = error }
                } else {
                    run.summary.notPushed += batch.recordCount
                    run.lokiStopped = true
                    run.lokiError = error
                }
            }
            run.batch?.removeAll()
        }
    }

    private func finish(_ run: Run) -> Summary {
        var summary = run.summary
        if summary.rejected > 0 {
            diagnostics.report("\(summary.rejected) line(s) rejected; \(summary.records) record(s) exported")
        }
        if summary.refusedByLoki > 0 {
            diagnostics.report(
                "Loki refused requests holding \(summary.refusedByLoki) record(s); it may have stored some of them")
        }
        if summary.notPushed > 0 {
            diagnostics.report("\(summary.notPushed) record(s) not pushed to Loki")
        }
        // The most specific failure wins: local output, then Loki, then bad input lines.
        if let error = run.outputError ?? run.textfileError ?? run.lokiError {
            summary.exitCode = error.exitCode
        } else if summary.rejected > 0 {
            summary.exitCode = .dataError
        }
        return summary
    }
}
