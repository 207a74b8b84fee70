import HermesCore

/// The Python Hermes CSV: its exact header, Python's "excel" dialect (`\r\n`, minimal quoting,
/// doubled quotes), floats as Python writes them, an empty cell for null. Results only.
public enum CSVFormat {
    public static let header = [
        "timestamp", "download_mbps", "upload_mbps", "ping_ms", "jitter_ms", "isp_name", "server_name",
        "server_location", "server_id",
    ]
    public static let headerLine = Array((header.joined(separator: ",") + "\r\n").utf8)

    public static func row(_ result: SpeedResult) -> [UInt8] {
        var bytes: [UInt8] = []
        let cells: [String?] = [
            result.timestamp.rfc3339, number(result.downloadMbps), number(result.uploadMbps),
            number(result.pingMs), number(result.jitterMs), result.ispName, result.serverName,
            result.serverLocation, result.serverID,
        ]
        for (index, cell) in cells.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendCell(cell ?? "", to: &bytes)
        }
        bytes.append(contentsOf: [0x0D, 0x0A])
        return bytes
    }

    /// Swift's shortest round-trip form matches Python's `repr` for the values Hermes writes.
    private static func number(_ value: Double?) -> String? {
        value.map { $0.description }
    }

    private static func appendCell(_ text: String, to bytes: inout [UInt8]) {
        let needsQuotes = text.utf8.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
        if !needsQuotes {
            bytes.append(contentsOf: text.utf8)
            return
        }
        bytes.append(0x22)
        for byte in text.utf8 {
            if byte == 0x22 { bytes.append(0x22) }
            bytes.append(byte)
        }
        bytes.append(0x22)
    }

    /// Splits CSV text into records of cells, honouring quotes that span lines. Each record
    /// carries the line it started on, for error messages.
    public static func parse(_ bytes: [UInt8]) -> [(line: Int, cells: [String])] {
        var records: [(line: Int, cells: [String])] = []
        var cells: [String] = []
        var cell: [UInt8] = []
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var index = 0
        var recordHasContent = false
        func endCell() {
            cells.append(String(decoding: cell, as: UTF8.self))
            cell.removeAll(keepingCapacity: true)
        }
        func endRecord() {
            endCell()
            if recordHasContent || cells.count > 1 || !(cells.first ?? "").isEmpty {
                records.append((recordLine, cells))
            }
            cells.removeAll(keepingCapacity: true)
            recordHasContent = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if inQuotes {
                if byte == 0x22 {
                    if index < bytes.count && bytes[index] == 0x22 {
                        cell.append(0x22)
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if byte == 0x0A { line += 1 }
                    cell.append(byte)
                }
                continue
            }
            switch byte {
            case 0x22:
                inQuotes = true
                recordHasContent = true
            case 0x2C:
                endCell()
                recordHasContent = true
            case 0x0D where index < bytes.count && bytes[index] == 0x0A:
                continue
            case 0x0A:
                endRecord()
                line += 1
                recordLine = line
            default:
                cell.append(byte)
            }
        }
        if !cell.isEmpty || !cells.isEmpty || recordHasContent { endRecord() }
        return records
    }

    /// A data row back into a result; timestamps with any offset (Python rows) are normalised.
    static func result(from cells: [String]) throws(RecordDecoder.Rejection) -> SpeedResult {
        guard cells.count == header.count else {
            throw .init("expected \(header.count) cells, found \(cells.count)")
        }
        func measure(_ index: Int) throws(RecordDecoder.Rejection) -> Double? {
            let text = cells[index]
            if text.isEmpty { return nil }
            guard let value = Double(text), value.isFinite, value >= 0 else {
                throw .init("\(header[index]) \"\(text)\" is not a finite non-negative number")
            }
            return value
        }
        func required(_ index: Int) throws(RecordDecoder.Rejection) -> Double {
            guard let value = try measure(index) else { throw .init("\(header[index]) is empty") }
            return value
        }
        let timestamp: Timestamp
        do {
            timestamp = try Timestamp(rfc3339: cells[0])
        } catch {
            throw .init("timestamp \"\(cells[0])\" \(error.message)")
        }
        return SpeedResult(
            timestamp: timestamp, downloadMbps: try measure(1), uploadMbps: try measure(2),
            pingMs: try required(3), jitterMs: try measure(4),
            ispName: cells[5].isEmpty ? nil : cells[5], serverName: cells[6], serverLocation: cells[7],
            serverID: cells[8].isEmpty ? nil : cells[8])
    }
}
