import HermesCore

/// `--prometheus`: the exposition of the latest record, once, after the end of the input (and
/// the pushes it caused, so the spool metrics are current).
public final class ExpositionSink: ExportSink {
    private let output: BufferedOutput
    public private(set) var failure: ExportError?

    public init(_ output: BufferedOutput) {
        self.output = output
    }

    public var failureRank: ExportFailureRank { .localOutput }

    public func accept(_ record: Record, _ context: ExportContext) {}

    public func flush(_ reason: FlushReason, _ context: ExportContext) {
        guard reason == .settled, context.state.hasRun else { return }
        do {
            try output.write(context.exposition())
            try output.flush()
        } catch {
            context.diagnostics.report(error.description)
            failure = .output(error)
        }
    }
}
