import HermesCore

/// `hermes-report`: records from a descriptor, in any order and any accepted form, cut to a window,
/// rendered and written to standard output or atomically to a file. Bad lines are reported with
/// their line numbers and skipped; the report is still written, and the status is then 65.
public struct ReportRun {
    public enum Format: String, Sendable, CaseIterable {
        case html, text, markdown
    }

    public var format: Format
    public var title: String
    /// The window; without them it runs from the first record to the last, and from `since`
    /// alone to `now`.
    public var since: Timestamp?
    public var until: Timestamp?
    /// Keep only this probe's records.
    public var probe: String?
    /// Nil writes to standard output.
    public var outputPath: String?
    /// The page's results table: the newest this many records.
    public var rows = 100
    public var planDownMbps: Double?
    public var planUpMbps: Double?
    public var now: Timestamp = .now()
    public var diagnostics: Diagnostics

    public init(format: Format, title: String, diagnostics: Diagnostics) {
        self.format = format
        self.title = title
        self.diagnostics = diagnostics
    }

    public func run(reading fileDescriptor: Int32) -> ExitCode {
        var records: [Record] = []
        var rejected = 0
        var reader = RecordReader(fileDescriptor: fileDescriptor)
        do {
            while let item = try reader.next() {
                switch item {
                case .record(let record, _):
                    if probe == nil || record.probeName == probe { records.append(record) }
                case .rejected(let line, let reason):
                    diagnostics.report("line \(line): \(reason)")
                    rejected += 1
                }
            }
        } catch {
            diagnostics.report(error.description)
            return error.exitCode
        }
        let text = render(records)
        do {
            if let outputPath {
                try FileSystem.atomicReplace(outputPath, with: Array(text.utf8), mode: 0o644)
            } else {
                try writeAll(Array(text.utf8), to: 1, name: "standard output")
            }
        } catch {
            diagnostics.report(error.description)
            return error.exitCode
        }
        if rejected > 0 {
            diagnostics.report("\(rejected) line(s) rejected; the report covers the \(records.count) valid record(s)")
            return .dataError
        }
        return .success
    }

    /// The report of `records`: the window from `since` (else the first record) to `until` (else
    /// the last), and the window of the same length before it when the records reach back there.
    public func render(_ records: [Record]) -> String {
        let times = records.map(\.timestamp)
        // A window that starts at --since runs to now (or --until), not to the last record: a week
        // in which a probe fell silent is a week, and says so.
        let start = since ?? times.min() ?? now
        let end = until ?? (since != nil ? max(now, start) : times.max() ?? start)
        let window = Window(start: start, end: end, records: records)
        let span = end.millisecondsSinceEpoch - start.millisecondsSinceEpoch
        let before = start.adding(milliseconds: -1)
        let previousRecords = records.filter {
            $0.timestamp < start && $0.timestamp >= before.adding(milliseconds: -span)
        }
        // Compared only when the input covers the window before about as well as this one (half the
        // tests or more): a day of history is no "week before".
        let covered = !previousRecords.isEmpty && previousRecords.count * 2 >= window.records.count
        let previous =
            span > 0 && covered
            ? Window(start: before.adding(milliseconds: -span), end: before, records: previousRecords) : nil
        switch format {
        case .html:
            var page = Page(title: title, now: now)
            page.rows = rows
            page.planDownMbps = planDownMbps
            page.planUpMbps = planUpMbps
            return page.render(window)
        case .text: return Digest(title: title, style: .text).render(window, previous: previous)
        case .markdown: return Digest(title: title, style: .markdown).render(window, previous: previous)
        }
    }
}
