import HermesCore

/// `--textfile`: the node_exporter textfile, read back at the start for the last good values and
/// rewritten whenever the producer pauses. A file that cannot be read is left alone for the run.
public final class TextfileSink: ExportSink {
    public let textfile: Textfile
    private var changed = false
    public private(set) var failure: ExportError?

    public init(_ textfile: Textfile) {
        self.textfile = textfile
    }

    public var failureRank: ExportFailureRank { .textfile }
    public var hasPending: Bool { changed && failure == nil }

    public func restoreState(_ context: ExportContext) -> MetricState? {
        do {
            return try textfile.readState()
        } catch {
            context.diagnostics.report("\(error); the textfile is left as it is")
            failure = error
            return nil
        }
    }

    public func accept(_ record: Record, _ context: ExportContext) {
        changed = true
    }

    public func flush(_ reason: FlushReason, _ context: ExportContext) {
        guard reason != .batchFull, changed, failure == nil else { return }
        do {
            try textfile.write(context.exposition())
            changed = false
        } catch {
            context.diagnostics.report(error.description)
            failure = error
        }
    }
}
