import HermesCore

/// `--loki`: every record, as log lines in batches of at most `maximumBatchBytes`. A batch Loki
/// refuses for its content (400, 413) does not stop the ones after it; anything else that fails
/// stops the pushes for the rest of the run, and the records left are counted as not pushed.
public final class LokiSink: ExportSink {
    public let client: LokiClient
    private var batch: LokiBatch
    /// Set when Loki cannot take anything more this run (unreachable, wrong credentials or URL).
    private var stopped = false
    public private(set) var failure: ExportError?
    public private(set) var pushed = 0
    public private(set) var notPushed = 0
    /// Records in requests Loki answered with a final 4xx (400, 413): it may have kept some.
    public private(set) var refused = 0

    public init(_ client: LokiClient) {
        self.client = client
        batch = LokiBatch(staticLabels: client.configuration.staticLabels)
    }

    public var failureRank: ExportFailureRank { .push }
    public var hasPending: Bool { !batch.isEmpty }
    public var isFull: Bool { batch.lineBytes >= client.configuration.maximumBatchBytes }

    public func accept(_ record: Record, _ context: ExportContext) {
        if stopped {
            notPushed += 1
        } else {
            batch.append(record)
        }
    }

    public func flush(_ reason: FlushReason, _ context: ExportContext) {
        guard !batch.isEmpty else { return }
        do {
            try client.push(batch)
            pushed += batch.recordCount
        } catch {
            context.diagnostics.report(error.description)
            if error.refusesOnlyThisBatch {
                refused += batch.recordCount
                if failure == nil { failure = error }
            } else {
                notPushed += batch.recordCount
                stopped = true
                failure = error
            }
        }
        batch.removeAll()
    }

    public func closingReport() -> [String] {
        var lines: [String] = []
        if refused > 0 {
            lines.append("Loki refused requests holding \(refused) record(s); it may have stored some of them")
        }
        if notPushed > 0 { lines.append("\(notPushed) record(s) not pushed to Loki") }
        return lines
    }
}
