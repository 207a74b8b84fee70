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
/// width with "…", so a row is one line; piped, nothing is cut. Columns are measured in the
/// terminal's columns, not characters: a Japanese ISP's name takes two a character.
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
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], TerminalWidth.of(cell)) }
        }
        var lines = [format(headings, widths: widths)]
        for row in rows {
            lines.append(
                row.count == headings.count ? format(row, widths: widths) : row[0].padded(to: widths[0]) + "  " + row[1]
            )
        }
        if let width, width > 1 { lines = lines.map { TerminalWidth.cut($0, to: width) } }
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
                line += String(repeating: " ", count: max(0, widths[index] - TerminalWidth.of(cell))) + cell
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

/// How many terminal columns text takes, as wcswidth(3) counts them but without depending on the
/// process's locale: each code point of a character counts, East Asian wide and fullwidth ones
/// two, combining marks, format characters (but the soft hyphen), controls and Hangul's joining
/// vowels and finals none, everything else one; an emoji drawn as a picture (by default or asked
/// for by VS16) two, as terminals draw it whatever follows it. Text that terminals disagree on
/// (emoji sequences with modifiers or ZWJ) may take more columns in some; a cut line then wraps.
enum TerminalWidth {
    static func of(_ text: String) -> Int { text.reduce(0) { $0 + of($1) } }

    static func of(_ character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        if first.properties.isEmojiPresentation
            || (first.properties.isEmoji && character.unicodeScalars.contains("\u{FE0F}"))
        {
            return 2
        }
        return character.unicodeScalars.reduce(0) { $0 + of($1) }
    }

    static func of(_ scalar: Unicode.Scalar) -> Int {
        if scalar.value == 0xAD { return 1 }
        switch scalar.properties.generalCategory {
        case .control, .format, .nonspacingMark, .enclosingMark: return 0
        // Hangul vowels and final consonants join the syllable before them.
        case _ where (0x1160...0x11FF).contains(scalar.value) || (0xD7B0...0xD7FF).contains(scalar.value): return 0
        default: return isWide(scalar.value) ? 2 : 1
        }
    }

    /// The East Asian Wide and Fullwidth blocks (Unicode's EastAsianWidth.txt, W and F) outside
    /// the emoji, which `isEmojiPresentation` finds.
    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF,
            0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF,
            0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x18CFF,
            0x1AFF0...0x1B2FF, 0x1F200...0x1F265, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            true
        default: false
        }
    }

    /// The line as it is when it fits in `width` columns; else as much of it as fits in one
    /// column less, and "…".
    static func cut(_ line: String, to width: Int) -> String {
        guard of(line) > width else { return line }
        var kept = ""
        var used = 0
        for character in line {
            let columns = of(character)
            if used + columns > width - 1 { break }
            kept.append(character)
            used += columns
        }
        return kept + "…"
    }
}

extension String {
    fileprivate func padded(to width: Int) -> String {
        self + String(repeating: " ", count: max(0, width - TerminalWidth.of(self)))
    }

    fileprivate func replacingFirst(_ target: Character, with replacement: Character) -> String {
        guard let index = firstIndex(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(index...index, with: String(replacement))
        return copy
    }
}
