import HermesCore

/// The Python Hermes CSV: its exact header, Python's "excel" dialect (`\r\n`, minimal quoting,
/// doubled quotes), floats as Python writes them, an empty cell for null. Results only; the
/// columns are the record fields `RecordSchema` marks as the Python Hermes's.
public enum CSVFormat {
    static let fields = RecordSchema.fields.filter { $0.python != nil }
    public static let header = fields.map(\.key)
    public static let headerLine = Array((header.joined(separator: ",") + "\r\n").utf8)

    public static func row(_ result: SpeedResult) -> [UInt8] {
        var bytes: [UInt8] = []
        for (index, field) in fields.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            if field.kind == .timestamp {
                appendCell(result.timestamp.rfc3339, to: &bytes)
                continue
            }
            switch result.values[field] {
            case .absent: break
            case .text(let text): appendCell(text, to: &bytes)
            // Swift's shortest round-trip form matches Python's `repr` for the values Hermes writes.
            case .number(let number): appendCell(number.description, to: &bytes)
            case .integer(let integer): appendCell(integer.description, to: &bytes)
            }
        }
        bytes.append(contentsOf: [0x0D, 0x0A])
        return bytes
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
        var timestamp: Timestamp?
        var values = RecordValues()
        for (field, text) in zip(fields, cells) {
            switch field.kind {
            case .timestamp:
                do {
                    timestamp = try Timestamp(rfc3339: text)
                } catch {
                    throw .init("\(field.key) \"\(text)\" \(error.message)")
                }
            case .measure, .percentage:
                if text.isEmpty { break }
                guard let value = Double(text), value.isFinite, value >= 0,
                    field.kind == .measure || value <= 100
                else {
                    throw .init("\(field.key) \"\(text)\" is not a finite non-negative number")
                }
                values[field] = .number(value)
            case .count:
                if text.isEmpty { break }
                guard let value = Int64(text), value >= 0 else {
                    throw .init("\(field.key) \"\(text)\" is not a non-negative whole number")
                }
                values[field] = .integer(value)
            case .text, .sentence, .identifier, .errorKind, .choice:
                if case .defaulted = field.presence {
                    values[field] = .text(text)
                } else if !text.isEmpty {
                    values[field] = .text(text)
                }
            }
            if field.presence == .required && values[field].isAbsent && field.kind != .timestamp {
                throw .init("\(field.key) is empty")
            }
        }
        guard let timestamp else { throw .init("the header names no timestamp column") }
        return SpeedResult(timestamp: timestamp, values: values)
    }
}
