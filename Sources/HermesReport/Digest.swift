import HermesCore

/// A window of records as a few lines a person reads on a phone: what was tested, what failed and
/// for how long, the typical and the worst figures, how they moved since the window before, and
/// the data the tests used. One line per fact; Markdown or plain text.
public struct Digest: Sendable {
    public enum Style: String, Sendable, CaseIterable {
        case text, markdown
    }

    /// What a phone shows of a notification expanded, roughly; sections past it are summed up.
    public static let maximumMarkdownCharacters = 1500

    public var title: String
    public var style: Style

    public init(title: String, style: Style) {
        self.title = title
        self.style = style
    }

    /// Lines end so that each fact stays a line where the digest is shown: a Markdown renderer
    /// joins lines that end without two spaces into one paragraph.
    private var lineEnd: String { style == .markdown ? "  \n" : "\n" }

    /// The digest of `window`, one section per path (probe, and link when records name one) when
    /// there are several; `previous` is the window of the same length before it, when the input
    /// reached back that far.
    public func render(_ window: Window, previous: Window?) -> String {
        var lines = [header(window)]
        let probes = Self.paths(of: window)
        if window.records.isEmpty {
            lines.append("No tests in this window.")
            return lines.joined(separator: lineEnd) + "\n"
        }
        if probes.count <= 1 {
            lines += facts(window, previous: previous)
            return lines.joined(separator: lineEnd) + "\n"
        }
        // One section per series: a path that measured several servers gets one per server.
        var sections: [(name: String, window: Window, previous: Window?)] = []
        for path in probes {
            let part = window.only(path: path)
            let servers = part.servers
            guard servers.count > 1 else {
                sections.append((path, part, previous?.only(path: path)))
                continue
            }
            for server in servers {
                sections.append(
                    (
                        "\(path), server \(server)", part.only(server: server),
                        previous?.only(path: path).only(server: server)
                    ))
            }
        }
        var text = lines.joined(separator: lineEnd)
        for (index, (name, part, before)) in sections.enumerated() {
            let section = [emphasis("Probe \(name)")] + facts(part, previous: before)
            let candidate = text + lineEnd + section.joined(separator: lineEnd)
            let left = sections.count - index - 1
            let reserve = left > 0 ? 70 : 0
            // The final newline counts too.
            if style == .markdown && candidate.count + 1 + reserve > Self.maximumMarkdownCharacters {
                text += lineEnd + "… and \(sections.count - index) more path(s): use --probe NAME for each"
                break
            }
            text = candidate
        }
        return text + "\n"
    }

    private func header(_ window: Window) -> String {
        emphasis(Self.clipped(title, 100)) + " " + Self.minute(window.start) + " to " + Self.minute(window.end) + " UTC"
    }

    /// At most `limit` characters, so that one long text cannot push the facts out of a notification.
    static func clipped(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    private func emphasis(_ text: String) -> String {
        style == .markdown ? "**\(Self.escaped(text))**" : text
    }

    /// Text from a record, on one line, without control characters (a terminal would obey them),
    /// at most 200 characters, and in Markdown shown as it is rather than as markup.
    private func shown(_ text: String) -> String {
        let clipped = Self.clipped(text.printableOnOneLine, 200)
        return style == .markdown ? Self.escaped(clipped) : clipped
    }

    func facts(_ window: Window, previous: Window?) -> [String] {
        var lines: [String] = []
        let failures = window.failuresByKind
        let failed = failures.reduce(0) { $0 + $1.count }
        var tests = "Tests: \(window.records.count), "
        if failed == 0 {
            tests += "none failed"
        } else {
            tests +=
                "\(failed) failed (" + failures.map { "\($0.kind.rawValue) \($0.count)" }.joined(separator: ", ") + ")"
        }
        lines.append(tests)
        if let latest = window.records.last, case .failure(let failure) = latest {
            lines.append(
                emphasis("Latest test failed")
                    + ": \(failure.errorKind.rawValue) at \(Self.minute(failure.timestamp)) UTC: \(shown(failure.error))"
            )
        }
        if let outage = window.longestOutage {
            let start = Self.minute(outage.start) + " UTC"
            let length = Self.duration(outage.milliseconds)
            let span =
                !outage.isOngoing
                ? "\(length) from \(start)"
                : outage.milliseconds > 0 ? "ongoing since \(start), at least \(length)" : "ongoing since \(start)"
            lines.append("Longest outage: \(span), \(outage.failedTests) failed test(s)")
        }
        let span = window.end.millisecondsSinceEpoch - window.start.millisecondsSinceEpoch
        func change(_ now: Summary?, _ before: Summary?) -> String {
            guard let now, let before, before.median > 0 else { return "" }
            let percent = (now.median - before.median) / before.median * 100
            let sign = percent >= 0 ? "+" : "−"
            return "; median \(sign)\(Self.number(abs(percent))) % on the \(Self.duration(span)) before"
        }
        if let download = window.download {
            lines.append(
                "Download: median \(Self.number(download.median)) Mbit/s, worst \(Self.number(download.minimum)) Mbit/s"
                    + change(download, previous?.download))
        }
        if let upload = window.upload {
            lines.append(
                "Upload: median \(Self.number(upload.median)) Mbit/s, worst \(Self.number(upload.minimum)) Mbit/s"
                    + change(upload, previous?.upload))
        }
        if let latency = window.latency {
            lines.append(
                "Latency: median \(Self.number(latency.median)) ms, 95th percentile \(Self.number(latency.percentile95)) ms, "
                    + "worst \(Self.number(latency.maximum)) ms" + change(latency, previous?.latency))
        }
        if let loaded = window.loadedLatency {
            lines.append(
                "Latency under load: median \(Self.number(loaded.median)) ms, worst \(Self.number(loaded.maximum)) ms")
        }
        if let latest = window.results.last {
            // The latest result's: a window's median RPM would mix tests with and without it.
            let quality = Self.quality(of: latest)
            lines += quality.figures.map { "\($0.name) (latest): \($0.value)" }
            if !quality.ratings.isEmpty {
                lines.append(
                    "Quality (latest): "
                        + quality.ratings.map { "\($0.name.lowercased()) \($0.value)" }.joined(separator: ", "))
            }
        }
        let bytes = window.bytesUsed
        if bytes > 0 { lines.append("Data used by the tests: \(Self.bytes(bytes))") }
        return lines
    }

    /// What a result means for its users, where its fields allow: responsiveness under load
    /// with its band and confidence, the bufferbloat grade of its latency increase, and
    /// Cloudflare's AIM ratings (derived, so old records get them too).
    static func quality(of result: SpeedResult) -> (
        figures: [(name: String, value: String)], ratings: [(name: String, value: String)]
    ) {
        var parts: [(name: String, value: String)] = []
        if let rpm = result.values[.responsivenessRPM].number {
            let band = ResponsivenessBand(rpm: rpm).rawValue
            let confidence = result.values[.responsivenessConfidence].text.map { ", \($0) confidence" } ?? ""
            parts.append(("Responsiveness", "\(Int(rpm.rounded())) RPM (\(band)\(confidence))"))
        }
        if let increase = latencyIncreaseMilliseconds(of: result) {
            let grade =
                result.values[.bufferbloatGrade].text ?? BufferbloatGrade(increaseMilliseconds: increase).rawValue
            parts.append(("Bufferbloat", "\(grade) (+\(number(increase)) ms under load)"))
        }
        let names: [UseCase: String] = [.streaming: "Streaming", .gaming: "Gaming", .videoCalls: "Video calls"]
        let ratings = QualityRating.ratings(of: result).map {
            (names[$0.useCase] ?? $0.useCase.rawValue, $0.level.name)
        }
        return (parts, ratings)
    }

    /// The paths of the records: each probe, and each of its links when records name one
    /// (`home, link wan2`); the servers of a path are compared within its section.
    static func paths(of window: Window) -> [String] {
        var seen: [String] = []
        for record in window.records {
            let path = record.pathName
            if !seen.contains(path) { seen.append(path) }
        }
        return seen.sorted()
    }

    /// `2026-12-03 10:30`.
    static func minute(_ time: Timestamp) -> String {
        let text = time.rfc3339
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5))
    }

    /// One decimal below 100, none above: `9.5`, `93.1`, `940`.
    static func number(_ value: Double) -> String {
        let rounded = value >= 100 ? value.rounded() : (value * 10).rounded() / 10
        let text = rounded >= 100 ? String(Int64(rounded)) : String(rounded)
        return text
    }

    /// `45 min`, `1 h 30 min`, `2 days 3 h`.
    static func duration(_ milliseconds: Int64) -> String {
        let minutes = milliseconds / 60_000
        let days = minutes / 1440
        let hours = minutes % 1440 / 60
        let rest = minutes % 60
        if days > 0 { return hours > 0 ? "\(days) day(s) \(hours) h" : "\(days) day(s)" }
        if hours > 0 { return rest > 0 ? "\(hours) h \(rest) min" : "\(hours) h" }
        return "\(rest) min"
    }

    /// Decimal units, as data plans count: `812 MB`, `41.2 GB`.
    static func bytes(_ count: Int64) -> String {
        let units: [(Double, String)] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        for (size, name) in units where Double(count) >= size {
            return "\(number(Double(count) / size)) \(name)"
        }
        return "\(count) bytes"
    }

    /// Markdown that a record's text could carry is shown as text.
    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if "\\`*_[]<>#|~&".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }
}

extension Record {
    /// The probe the record names, or `unnamed` for records from before probes were named.
    var probeName: String {
        switch self {
        case .result(let result): result.extensions.probe ?? "unnamed"
        case .failure(let failure): failure.probe ?? "unnamed"
        }
    }

    /// The probe, and the link when the record names one: `home, link wan2`.
    var pathName: String {
        guard let link = values[.link].text else { return probeName }
        return "\(probeName), link \(link)"
    }
}

extension Window {
    func only(path: String) -> Window {
        Window(start: start, end: end, records: records.filter { $0.pathName == path })
    }

    /// The servers results were measured against, by name (else URL), in order of first use. A
    /// failure belongs to the server whose URL it names; one that names none (it failed before a
    /// server was chosen) belongs to no server, only to its probe.
    var servers: [String] {
        var seen: [String] = []
        for result in results {
            let server = Self.server(of: result)
            if !seen.contains(server) { seen.append(server) }
        }
        return seen
    }

    func only(server: String) -> Window {
        var urls: Set<String> = []
        for result in results where Self.server(of: result) == server {
            if let url = result.extensions.serverURL { urls.insert(url) }
        }
        return Window(
            start: start, end: end,
            records: records.filter { record in
                switch record {
                case .result(let result): Self.server(of: result) == server
                case .failure(let failure): failure.serverURL.map { urls.contains($0) || $0 == server } ?? false
                }
            })
    }

    static func server(of result: SpeedResult) -> String {
        if !result.serverName.isEmpty { return result.serverName }
        return result.extensions.serverURL ?? "unknown server"
    }
}
