import HermesCore

/// `--tee`: every accepted record, in canonical form, to the next tool in the pipe. Flushed at
/// every flush, before the slower sinks, so the pipe never waits for the network.
public final class TeeSink: ExportSink {
    private let output: BufferedOutput
    private var unflushed = false
    public private(set) var failure: ExportError?

    public init(_ output: BufferedOutput) {
        self.output = output
    }

    public var failureRank: ExportFailureRank { .localOutput }
    public var hasPending: Bool { unflushed }

    public func accept(_ record: Record, _ context: ExportContext) {
        guard failure == nil else { return }
        do {
            try output.write(RecordEncoder.encode(record))
            unflushed = true
        } catch {
            fail(error, context)
        }
    }

    public func flush(_ reason: FlushReason, _ context: ExportContext) {
        guard failure == nil, unflushed else { return }
        do {
            try output.flush()
            unflushed = false
        } catch {
            fail(error, context)
        }
    }

    private func fail(_ error: IOError, _ context: ExportContext) {
        context.diagnostics.report(error.description)
        failure = .output(error)
    }
}
