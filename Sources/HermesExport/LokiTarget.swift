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
        var text: [UInt8] = []
        text.reserveCapacity(payloads.reduce(0) { $0 + $1.count + 1 })
        for payload in payloads {
            text += payload
            text.append(UInt8(ascii: "\n"))
        }
        for item in RecordReader.decodeAll(String(decoding: text, as: UTF8.self)) {
            switch item {
            case .record(let record, _): batch.append(record)
            case .rejected(let line, let reason):
                // Checksummed lines this tool wrote: only a spool from a newer version gets here.
                // The request is set aside whole rather than sent without the line.
                throw .refused(message: "spooled entry \(line) of this request is not a record: \(reason)", status: 400)
            }
        }
        guard !batch.isEmpty else { return }
        try client.push(batch)
    }
}
