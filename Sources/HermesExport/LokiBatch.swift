import HermesCore

/// Records waiting to be pushed, grouped into Loki streams by their labels. The stream labels
/// are few and bounded: `job`, the `--loki-label` pairs, the record's `probe` and its `type`.
/// Everything measured stays in the line, the canonical record, so LogQL's `| json` reads it.
public struct LokiBatch: Sendable {
    public let staticLabels: [(name: String, value: String)]
    private var streams: [Stream] = []
    public private(set) var recordCount = 0
    /// Bytes of the lines held, the measure `maximumBatchBytes` is compared with.
    public private(set) var lineBytes = 0

    struct Stream: Sendable {
        var labels: [(name: String, value: String)]
        var entries: [(milliseconds: Int64, line: [UInt8])]

        /// Oldest first: Loki refuses an entry far behind the newest of its stream, so a
        /// newest-first backfill must not be sent in input order.
        var entriesInTimeOrder: [(milliseconds: Int64, line: [UInt8])] {
            let ordered = zip(entries, entries.dropFirst()).allSatisfy { $0.milliseconds <= $1.milliseconds }
            if ordered { return entries }
            return entries.enumerated().sorted {
                ($0.element.milliseconds, $0.offset) < ($1.element.milliseconds, $1.offset)
            }.map(\.element)
        }
    }

    public init(staticLabels: [(name: String, value: String)]) {
        self.staticLabels = staticLabels
    }

    public var isEmpty: Bool { recordCount == 0 }

    public mutating func append(_ record: Record) {
        var line = RecordEncoder.encode(record)
        line.removeLast()  // the newline
        append(record, line: line)
    }

    /// `record` with `line`, its canonical encoding without the newline, already made.
    public mutating func append(_ record: Record, line: [UInt8]) {
        let labels = self.labels(for: record)
        let entry = (record.timestamp.millisecondsSinceEpoch, line)
        if let index = streams.firstIndex(where: { Self.same($0.labels, labels) }) {
            streams[index].entries.append(entry)
        } else {
            streams.append(Stream(labels: labels, entries: [entry]))
        }
        recordCount += 1
        lineBytes += line.count
    }

    public mutating func removeAll() {
        streams.removeAll()
        recordCount = 0
        lineBytes = 0
    }

    func labels(for record: Record) -> [(name: String, value: String)] {
        var labels = staticLabels
        let probe: String? =
            switch record {
            case .result(let result): result.extensions.probe
            case .failure(let failure): failure.probe
            }
        if let probe, !probe.isEmpty { labels.append(("probe", probe)) }
        labels.append(("type", record.kind.rawValue))
        return labels
    }

    /// Loki wants the nanosecond epoch as a decimal string; a number is a 400.
    static func nanoseconds(milliseconds: Int64) -> String {
        milliseconds == 0 ? "0" : "\(milliseconds)000000"
    }

    private static func same(_ lhs: [(name: String, value: String)], _ rhs: [(name: String, value: String)]) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// `{"streams":[{"stream":{labels},"values":[["<ns>","<line>"],...]},...]}`.
    public func json() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(lineBytes + lineBytes / 8 + 256)
        bytes += Array(#"{"streams":["#.utf8)
        for (streamIndex, stream) in streams.enumerated() {
            if streamIndex > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += Array(#"{"stream":{"#.utf8)
            for (labelIndex, label) in stream.labels.enumerated() {
                if labelIndex > 0 { bytes.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(label.name, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                JSONWriter.appendString(label.value, to: &bytes)
            }
            bytes += Array(#"},"values":["#.utf8)
            for (entryIndex, entry) in stream.entriesInTimeOrder.enumerated() {
                if entryIndex > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(UInt8(ascii: "["))
                JSONWriter.appendString(Self.nanoseconds(milliseconds: entry.milliseconds), to: &bytes)
                bytes.append(UInt8(ascii: ","))
                entry.line.withUnsafeBufferPointer { JSONWriter.appendString(utf8: $0, to: &bytes) }
                bytes.append(UInt8(ascii: "]"))
            }
            bytes += Array("]}".utf8)
        }
        bytes += Array("]}".utf8)
        return bytes
    }
}
