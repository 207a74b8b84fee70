import HermesCore

/// `--textfile`: the node_exporter textfile, read back at the start for the last good values and
/// rewritten whenever the producer pauses. A file that cannot be read is left alone for the run.
public final class TextfileSink: ExportSink {
    public let textfile: Textfile
    private var changed = false
    /// What the file said at the start, and what this run last wrote to it.
    private var restored = MetricState()
    private var written: MetricState?
    public private(set) var failure: ExportError?

    public init(_ textfile: Textfile) {
        self.textfile = textfile
    }

    public var failureRank: ExportFailureRank { .textfile }
    public var hasPending: Bool { changed && failure == nil }

    public func restoreState(_ context: ExportContext) -> MetricState? {
        do {
            let (state, damaged) = try textfile.read()
            if !damaged.isEmpty {
                // Said, not fatal: the file is rewritten whole from what could be read.
                let lines = damaged.prefix(5).map(String.init).joined(separator: ", ")
                context.diagnostics.report(
                    "\(textfile.path): line(s) \(lines)\(damaged.count > 5 ? " and \(damaged.count - 5) more" : "") are not samples this tool wrote (damaged?); the values they held start again, and the file is rewritten whole"
                )
            }
            restored = state
            return restored
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
        // Written when the producer pauses, before the pushes (a slow receiver must not hold the
        // metrics back), and once more when the pushes changed the state after it.
        let stale = reason == .settled && written.map { $0 != context.state } ?? (restored != context.state)
        guard reason != .batchFull, changed || stale, failure == nil else { return }
        do {
            try textfile.write(context.exposition())
            written = context.state
            changed = false
        } catch {
            context.diagnostics.report(error.description)
            failure = error
        }
    }
}
