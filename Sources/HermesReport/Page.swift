import HermesCore
import HermesStore

/// The report as one self-contained HTML page: inline CSS and SVG, no script, no font, image or
/// request of any kind, readable from `file://` and any static web server, light or dark.
public struct Page {
    public var title: String
    /// The results table holds the newest this many records.
    public var rows = 100
    /// What the user pays for, in Mbit/s: the share of tests reaching it is shown per day and month.
    public var planDownMbps: Double?
    public var planUpMbps: Double?
    /// When the page was made, for "2 h ago".
    public var now: Timestamp

    public init(title: String, now: Timestamp) {
        self.title = title
        self.now = now
    }

    public func render(_ window: Window) -> String {
        var body = "<header><h1>\(HTML.escape(title))</h1><p class=\"window\">"
        body += "\(Digest.minute(window.start)) to \(Digest.minute(window.end)) UTC · "
        body += "\(window.records.count) test(s) · made \(Digest.minute(now)) UTC</p></header><main>"
        let probes = Digest.paths(of: window)
        if window.records.isEmpty {
            body += "<p class=\"empty\">Nothing to show yet: no test in this window. Records appear here once "
            body += "hermes-store has stored some and this page is made again.</p>"
        } else if probes.count == 1 {
            body += section(window, heading: nil)
        } else {
            let linked = window.records.contains { !$0.values[.link].isAbsent }
            body += "<section><h2>\(linked ? "Paths" : "Probes") compared</h2>"
            body += comparison(probes.map { ($0, window.only(path: $0)) }, kind: linked ? "Path" : "Probe")
            body += "</section>"
            for probe in probes { body += section(window.only(path: probe), heading: "Probe \(probe)") }
        }
        body += "</main>"
        let description =
            "Speed tests of this connection from \(Digest.minute(window.start)) to \(Digest.minute(window.end)) UTC: history, failures and a summary per day."
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="description" content="\(HTML.escape(description))">
            <title>\(HTML.escape(title))</title>
            <style>\(Self.style)</style></head>
            <body>\(body)</body></html>

            """
    }

    /// Probes, or one probe's servers, side by side: `kind` names the first column.
    private func comparison(_ parts: [(name: String, window: Window)], kind: String) -> String {
        var out = "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">\(kind)</th>"
        out += "<th scope=\"col\">Tests</th><th scope=\"col\">Failed</th>"
        out += "<th scope=\"col\">Download, median</th><th scope=\"col\">Upload, median</th>"
        out += "<th scope=\"col\">Latency, median</th></tr></thead><tbody>"
        for (name, part) in parts {
            out += "<tr><th scope=\"row\">\(HTML.escape(name))</th><td>\(part.records.count)</td>"
            out += "<td>\(part.failures.count)</td><td>\(Self.figure(part.download?.median, "Mbit/s"))</td>"
            out += "<td>\(Self.figure(part.upload?.median, "Mbit/s"))</td>"
            out += "<td>\(Self.figure(part.latency?.median, "ms"))</td></tr>"
        }
        return out + "</tbody></table></div>"
    }

    private func section(_ window: Window, heading: String?) -> String {
        var out = "<section>"
        if let heading { out += "<h2>\(HTML.escape(heading))</h2>" }
        if case .failure(let failure)? = window.records.last {
            out += "<div class=\"alert\" role=\"alert\"><strong>The latest test failed</strong> "
            out += "\(Digest.minute(failure.timestamp)) UTC (\(ago(failure.timestamp))): "
            out += "<span class=\"kind\">\(failure.errorKind.rawValue)</span>: \(HTML.escape(failure.error))</div>"
        }
        out += cards(window)
        out += charts(window, level: "h3")
        let servers = window.servers
        if servers.count > 1 {
            out += "<h3>Per server</h3>" + comparison(servers.map { ($0, window.only(server: $0)) }, kind: "Server")
            for server in servers {
                out += "<h4>Server \(HTML.escape(server))</h4>" + charts(window.only(server: server), level: "h5")
            }
        }
        out += "<h3>Per day</h3>" + periods(window, prefix: 10)
        out += "<h3>Per month</h3>" + periods(window, prefix: 7)
        out += results(window)
        return out + "</section>"
    }

    /// Throughput and latency over the window, failures marked.
    private func charts(_ window: Window, level: String) -> String {
        var out = ""
        let failures = window.failures
        out += "<\(level)>Throughput</\(level)>"
        out += Chart(
            title: "Download and upload, Mbit/s", unit: "Mbit/s",
            series: [
                .init(
                    name: "Download", cssClass: "download",
                    points: window.results.compactMap { r in r.downloadMbps.map { (r.timestamp, $0) } }),
                .init(
                    name: "Upload", cssClass: "upload",
                    points: window.results.compactMap { r in r.uploadMbps.map { (r.timestamp, $0) } }),
            ], failures: failures, start: window.start, end: window.end
        ).svg()
        out += "<\(level)>Latency</\(level)>"
        var latency: [Chart.Series] = [
            .init(name: "Idle", cssClass: "idle", points: window.results.map { ($0.timestamp, $0.pingMs) })
        ]
        let loaded = window.results.compactMap { result -> (time: Timestamp, value: Double)? in
            let worst = [result.extensions.downloadLatencyMs, result.extensions.uploadLatencyMs].compactMap { $0 }.max()
            return worst.map { (result.timestamp, $0) }
        }
        if !loaded.isEmpty { latency.append(.init(name: "Under load", cssClass: "loaded", points: loaded)) }
        out += Chart(
            title: "Latency idle and under load, ms", unit: "ms", series: latency, failures: failures,
            start: window.start, end: window.end
        ).svg()
        return out
    }

    /// The latest result's figures, and when.
    private func cards(_ window: Window) -> String {
        guard let latest = window.results.last else {
            return "<p class=\"empty\">No test has succeeded in this window.</p>"
        }
        var cards: [(String, String)] = [
            ("Download", Self.figure(latest.downloadMbps, "Mbit/s")),
            ("Upload", Self.figure(latest.uploadMbps, "Mbit/s")),
            ("Ping", Self.figure(latest.pingMs, "ms")), ("Jitter", Self.figure(latest.jitterMs, "ms")),
        ]
        let loaded = [latest.extensions.downloadLatencyMs, latest.extensions.uploadLatencyMs].compactMap { $0 }.max()
        if let loaded { cards.append(("Latency under load", Self.figure(loaded, "ms"))) }
        let quality = Digest.quality(of: latest)
        cards += quality.figures.map { ($0.name, $0.value) } + quality.ratings.map { ($0.name, $0.value) }
        let server = [latest.serverName, latest.serverLocation].filter { !$0.isEmpty }.joined(separator: ", ")
        cards.append(("Server", server.isEmpty ? (latest.extensions.serverURL ?? "–") : server))
        cards.append(("ISP", latest.ispName ?? "–"))
        cards.append(("Tested", "\(Digest.minute(latest.timestamp)) UTC, \(ago(latest.timestamp))"))
        var out = "<h3>Latest result</h3><dl class=\"cards\">"
        for (name, value) in cards {
            out += "<div class=\"card\"><dt>\(HTML.escape(name))</dt><dd>\(HTML.escape(value))</dd></div>"
        }
        return out + "</dl>"
    }

    /// A table of days (`prefix` 10: `2026-06-01`) or months (7: `2026-06`), newest first.
    private func periods(_ window: Window, prefix: Int) -> String {
        var groups: [String: [Record]] = [:]
        for record in window.records {
            groups[String(record.timestamp.rfc3339.prefix(prefix)), default: []].append(record)
        }
        let plans = planDownMbps != nil || planUpMbps != nil
        var out = "<div class=\"scroll\"><table class=\"periods\"><thead><tr>"
        out += "<th scope=\"col\">\(prefix == 10 ? "Day" : "Month")</th><th scope=\"col\">Tests</th>"
        out += "<th scope=\"col\">Failed</th><th scope=\"col\">Download median / lowest</th>"
        out += "<th scope=\"col\">Upload median / lowest</th><th scope=\"col\">Latency median / 95th pct</th>"
        out += "<th scope=\"col\">Data used</th>"
        if plans { out += "<th scope=\"col\">Results reaching the plan</th>" }
        out += "</tr></thead><tbody>"
        for key in groups.keys.sorted(by: >) {
            let period = Window(start: window.start, end: window.end, records: groups[key] ?? [])
            let failed =
                period.failures.isEmpty
                ? "0"
                : "\(period.failures.count) ("
                    + period.failuresByKind.map { "\($0.kind.rawValue) \($0.count)" }.joined(separator: ", ") + ")"
            out += "<tr><th scope=\"row\">\(key)</th><td>\(period.records.count)</td><td>\(failed)</td>"
            out += "<td>\(Self.pair(period.download?.median, period.download?.minimum, "Mbit/s"))</td>"
            out += "<td>\(Self.pair(period.upload?.median, period.upload?.minimum, "Mbit/s"))</td>"
            out += "<td>\(Self.pair(period.latency?.median, period.latency?.percentile95, "ms"))</td>"
            out += "<td>\(period.bytesUsed > 0 ? Digest.bytes(period.bytesUsed) : "–")</td>"
            if plans { out += "<td>\(planShare(period))</td>" }
            out += "</tr>"
        }
        return out + "</tbody></table></div>"
    }

    /// The share of results that reached the plan in every direction given.
    private func planShare(_ window: Window) -> String {
        let results = window.results
        guard !results.isEmpty else { return "–" }
        let reached = results.filter { result in
            (planDownMbps.map { plan in (result.downloadMbps ?? 0) >= plan } ?? true)
                && (planUpMbps.map { plan in (result.uploadMbps ?? 0) >= plan } ?? true)
        }
        return "\(Int((Double(reached.count) / Double(results.count) * 100).rounded())) %"
    }

    /// The newest records, results and failures alike, and their results as a CSV file with the
    /// Python Hermes header (results only, as the Python Hermes wrote; the whole history is
    /// `hermes-store query --format csv`, which a page of a year would be megabytes of).
    private func results(_ window: Window) -> String {
        let newest = window.records.suffix(rows).reversed()
        var out = "<h3>Results</h3><p>The newest \(newest.count) of \(window.records.count) test(s). "
        var csv = CSVFormat.headerLine
        for case .result(let result) in newest.reversed() { csv += CSVFormat.row(result) }
        out += "<a download=\"hermes-results.csv\" href=\"data:text/csv;charset=utf-8,\(Self.percentEncoded(csv))\">"
        out += "Download these results as CSV</a></p>"
        out += "<div class=\"scroll\"><table class=\"results\"><thead><tr><th scope=\"col\">Time (UTC)</th>"
        out += "<th scope=\"col\">Download</th><th scope=\"col\">Upload</th><th scope=\"col\">Ping</th>"
        out +=
            "<th scope=\"col\">Jitter</th><th scope=\"col\">Server</th><th scope=\"col\">Failure</th></tr></thead><tbody>"
        for record in newest {
            switch record {
            case .result(let result):
                out += "<tr><th scope=\"row\">\(Digest.minute(result.timestamp))</th>"
                out +=
                    "<td>\(Self.figure(result.downloadMbps, "Mbit/s"))</td><td>\(Self.figure(result.uploadMbps, "Mbit/s"))</td>"
                out += "<td>\(Self.figure(result.pingMs, "ms"))</td><td>\(Self.figure(result.jitterMs, "ms"))</td>"
                out += "<td>\(HTML.escape(result.serverName))</td><td></td></tr>"
            case .failure(let failure):
                out += "<tr class=\"failed\"><th scope=\"row\">\(Digest.minute(failure.timestamp))</th>"
                out += "<td colspan=\"5\"></td><td><span class=\"kind\">\(failure.errorKind.rawValue)</span>: "
                out += "\(HTML.escape(failure.error))</td></tr>"
            }
        }
        return out + "</tbody></table></div>"
    }

    private func ago(_ time: Timestamp) -> String {
        let milliseconds = now.millisecondsSinceEpoch - time.millisecondsSinceEpoch
        if milliseconds < 60_000 { return "just now" }
        return "\(Digest.duration(milliseconds)) ago"
    }

    static func figure(_ value: Double?, _ unit: String) -> String {
        value.map { "\(Digest.number($0)) \(unit)" } ?? "–"
    }

    static func pair(_ first: Double?, _ second: Double?, _ unit: String) -> String {
        guard let first, let second else { return "–" }
        return "\(Digest.number(first)) / \(Digest.number(second)) \(unit)"
    }

    /// RFC 3986 percent-encoding of all but the unreserved characters, for a `data:` URL.
    static func percentEncoded(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let style = """
        :root{color-scheme:light dark;--fg:#1d2329;--muted:#5d6873;--bg:#fff;--panel:#f3f5f7;--line:#d5dbe1;\
        --down:#1f77b4;--up:#2ca02c;--idle:#6f42c1;--loaded:#d9822b;--fail:#d62728}
        @media (prefers-color-scheme:dark){:root{--fg:#e6e9ec;--muted:#9aa5b1;--bg:#15191d;--panel:#1f252b;\
        --line:#36404a;--down:#5fa8e8;--up:#6cc46c;--idle:#b08cf0;--loaded:#f0a860;--fail:#ff6b6b}}
        *{box-sizing:border-box}body{margin:0;padding:1rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",\
        sans-serif;color:var(--fg);background:var(--bg)}main,header{max-width:1100px;margin:0 auto}
        h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.25rem;margin:1.5rem 0 .5rem}h3{font-size:1.05rem;\
        margin:1.2rem 0 .4rem}.window,.legend,.empty{color:var(--muted)}
        .alert{border-left:4px solid var(--fail);background:var(--panel);padding:.6rem .8rem;margin:.8rem 0}
        .kind{font-weight:600;color:var(--fail)}
        .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.5rem;margin:0}
        .card{background:var(--panel);border-radius:6px;padding:.5rem .7rem}.card dt{color:var(--muted);\
        font-size:.8rem}.card dd{margin:0;font-size:1.1rem;font-weight:600;overflow-wrap:anywhere}
        figure{margin:0}.chart{width:100%;height:auto;display:block}.chart .grid{stroke:var(--line);\
        stroke-width:1}.chart .tick,.chart .unit{fill:var(--muted);font-size:11px}.chart polyline.series{fill:none;\
        stroke-width:1.6}.chart circle.series{stroke:none}.download{stroke:var(--down);fill:var(--down)}\
        .upload{stroke:var(--up);fill:var(--up)}.idle{stroke:var(--idle);fill:var(--idle)}.loaded{\
        stroke:var(--loaded);fill:var(--loaded)}.chart .failure{stroke:var(--fail);stroke-width:2;opacity:.6}
        .key::before{content:"";display:inline-block;width:.9em;height:.25em;margin-right:.3em;\
        vertical-align:middle;background:currentColor}.key.download{color:var(--down)}.key.upload{\
        color:var(--up)}.key.idle{color:var(--idle)}.key.loaded{color:var(--loaded)}.key.failure{color:var(--fail)}
        .scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:\
        left;padding:.3rem .5rem;border-bottom:1px solid var(--line);white-space:nowrap}tbody th{font-weight:\
        500}tr.failed td,tr.failed th{background:var(--panel)}a{color:var(--down)}dd,td,th,h2,h4{unicode-bidi:isolate}
        @media (max-width:600px){body{padding:.6rem}.chart .tick,.chart .unit{font-size:22px}\
        .chart .series{stroke-width:2.4}}
        """
}
