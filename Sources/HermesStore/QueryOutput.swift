import HermesCore

/// How `hermes-store query` prints records.
public enum QueryFormat: String, Sendable, CaseIterable {
    case ndjson, csv, table

    /// `width`: the terminal's columns, to which a table's lines are cut (nil: not cut).
    public func render(_ records: [Record], width: Int? = nil) -> [UInt8] {
        switch self {
        case .ndjson:
            return records.flatMap(RecordEncoder.encode)
        case .csv:
            var bytes = CSVFormat.headerLine
            for case .result(let result) in records { bytes.append(contentsOf: CSVFormat.row(result)) }
            return bytes
        case .table:
            return Array(TableRenderer.render(records, width: width).utf8)
        }
    }
}

/// An aligned table for people: times to the second, numbers right-aligned with two decimals
/// (responsiveness in whole RPM), "-" for unmeasured. On a terminal each line is cut to its
/// width with "…", so a row is one line; piped, nothing is cut.
enum TableRenderer {
    static let headings = ["TIME (UTC)", "DOWN Mbit/s", "UP Mbit/s", "PING ms", "JITTER ms", "RPM", "SERVER", "ISP"]
    static let numericColumns: Set<Int> = [1, 2, 3, 4, 5]

    static func render(_ records: [Record], width: Int? = nil) -> String {
        let rows: [[String]] = records.map { record in
            // 2026-05-01T12:03:00.000Z: the milliseconds and the Z (the heading says UTC) go.
            let time = String(record.timestamp.rfc3339.replacingFirst("T", with: " ").prefix(19))
            switch record {
            case .result(let result):
                var server = result.serverName
                if !result.serverLocation.isEmpty {
                    server += server.isEmpty ? result.serverLocation : " (\(result.serverLocation))"
                }
                return [
                    time, fixed(result.downloadMbps), fixed(result.uploadMbps), fixed(result.pingMs),
                    fixed(result.jitterMs), result.values[.responsivenessRPM].number.map(whole) ?? "-",
                    server.isEmpty ? "-" : server, result.ispName ?? "-",
                ]
            case .failure(let failure):
                return [time, "FAILED (\(failure.errorKind.rawValue)): \(failure.error)"]
            }
        }
        var widths = headings.map(\.count)
        for row in rows where row.count == headings.count {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        var lines = [format(headings, widths: widths)]
        for row in rows {
            lines.append(
                row.count == headings.count ? format(row, widths: widths) : row[0].padded(to: widths[0]) + "  " + row[1]
            )
        }
        if let width, width > 1 {
            lines = lines.map { $0.count > width ? $0.prefix(width - 1) + "…" : $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func whole(_ value: Double) -> String {
        abs(value) < 1e15 ? String(Int64(value.rounded())) : value.description
    }

    private static func format(_ cells: [String], widths: [Int]) -> String {
        var line = ""
        for (index, cell) in cells.enumerated() {
            if index > 0 { line += "  " }
            if numericColumns.contains(index) {
                line += String(repeating: " ", count: max(0, widths[index] - cell.count)) + cell
            } else if index == cells.count - 1 {
                line += cell
            } else {
                line += cell.padded(to: widths[index])
            }
        }
        return line
    }

    static func fixed(_ value: Double?) -> String {
        guard let value else { return "-" }
        // Beyond this, hundredths overflow Int64; such a value is shown as it is.
        guard abs(value) < 1e15 else { return value.description }
        let hundredths = Int64((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension String {
    fileprivate func padded(to width: Int) -> String {
        self + String(repeating: " ", count: max(0, width - count))
    }

    fileprivate func replacingFirst(_ target: Character, with replacement: Character) -> String {
        guard let index = firstIndex(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(index...index, with: String(replacement))
        return copy
    }
}
