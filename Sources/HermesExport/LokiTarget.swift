import HermesCore

/// `--loki`: every record as a log line, its canonical JSON, in Loki streams by `job`, the
/// `--loki-label` pairs, `probe` and `type` (`LokiBatch`). The spool keeps the canonical line.
public final class LokiTarget: PushTarget {
    public let client: LokiClient

    public init(_ client: LokiClient) {
        self.client = client
    }

    public var sinkName: String { "loki" }
    public var displayName: String { "Loki" }
    public var destination: String { client.configuration.pushURL + " tenant=" + (client.configuration.tenant ?? "") }
    public var maximumRequestBytes: Int { client.configuration.maximumBatchBytes }

    public func payload(for record: Record, _ context: ExportContext) -> [UInt8] {
        var line = RecordEncoder.encode(record)
        line.removeLast()  // the newline
        return line
    }

    public func push(_ payloads: [[UInt8]]) throws(ExportError) {
        var batch = LokiBatch(staticLabels: client.configuration.staticLabels)
        for (index, outcome) in RecordReader.decode(lines: payloads).enumerated() {
            switch outcome {
            // The spooled line is the record's canonical encoding: it goes out as it is.
            case .success(.record(let record)): batch.append(record, line: payloads[index])
            case .success(.ignored), .success(nil):
                throw .refused(message: "spooled entry \(index + 1) of this request holds no record", status: 400)
            case .failure(let rejection):
                // Checksummed lines this tool wrote: only a spool from a newer version gets here.
                // The request is set aside whole rather than sent without the line.
                throw .refused(
                    message: "spooled entry \(index + 1) of this request is not a record: \(rejection.reason)",
                    status: 400)
            }
        }
        guard !batch.isEmpty else { return }
        try client.push(batch)
    }
}
