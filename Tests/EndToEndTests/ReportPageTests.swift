import Foundation
import HermesTestSupport
import Testing

/// The page as a person sees it: rendered by headless Chromium (Debian's `chromium`) at a desktop
/// and a phone size, light and dark, with nothing fetched and no console error, its DOM checked
/// against the input and its screenshots kept in `$TMPDIR/hermes-report-screenshots` for a look.
/// Chromium runs in a network namespace of its own with no interface up, so neither the page nor
/// the browser's own background services can reach anything: that needs root.
@Suite(.serialized) struct ReportPageTests {
    static let chromium = ChildProcess.installed("chromium")
    static let unshare = ChildProcess.installed("unshare")
    static let canRun = chromium != nil && unshare != nil && getuid() == 0
    static let why =
        "needs chromium (apt-get install chromium; scripts/test does) and root for an empty network namespace"

    /// A month of half-hourly records from hermes-bench (three probes, about 2 % failures).
    static func page(in directory: TemporaryDirectory, probe: String) throws -> (path: String, records: [String]) {
        let records = try Executable.named("hermes-bench").run(["generate", "1440"]).stdout
        let mine = records.split(separator: "\n").map(String.init).filter { $0.contains(#""probe":"\#(probe)""#) }
        let path = directory.file("report.html")
        let outcome = try Executable.named("hermes-report").run(
            ["--output", path, "--title", "Hermes: \(probe)", "--probe", probe, "--plan-down", "80"], stdin: records)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        return (path, mine)
    }

    /// The console messages of the page under test: Chromium's own pages (chrome://, such as the
    /// "Slow network is detected" its internal UI logs on a loaded host) are not the page's.
    static func pageConsole(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") && !$0.contains("source: chrome://") }
    }

    static func chrome(_ arguments: [String]) throws -> ProcessOutcome {
        guard let chromium, let unshare else { throw SkipReason() }
        return try ChildProcess.run(
            unshare,
            [
                "--net", chromium, "--disable-background-networking", "--disable-component-update", "--disable-sync",

                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                "--enable-logging=stderr", "--v=0",
            ] + arguments,
            environment: ["HOME": NSTemporaryDirectory(), "PATH": "/usr/bin:/bin"], timeout: .seconds(90))
    }

    struct SkipReason: Error {}

    /// Every http(s) URL quoted in a net log.
    static func urls(in log: String) -> [String] {
        log.components(separatedBy: "\"").filter { $0.hasPrefix("http://") || $0.hasPrefix("https://") }
    }

    @Test(.enabled(if: canRun, Comment(rawValue: why)))
    func theDOMHoldsWhatTheRecordsSay() throws {
        let directory = try TemporaryDirectory()
        let (path, records) = try Self.page(in: directory, probe: "cabin-pi")
        let netLog = directory.file("net.json")
        let outcome = try Self.chrome(["--log-net-log=\(netLog)", "--dump-dom", "file://\(path)"])
        #expect(outcome.status == 0)
        let dom = outcome.stdout
        let results = records.filter { $0.contains(#""type":"result""#) }
        let failures = records.filter { $0.contains(#""type":"failure""#) }
        #expect(dom.contains(#"class="series download" data-points="\#(results.count)""#))
        // The probe's throughput chart marks every failure; the charts per server mark theirs again.
        let firstChart = try #require(dom.components(separatedBy: "<figure>").dropFirst().first)
        #expect(firstChart.components(separatedBy: #"<line class="failure""#).count - 1 == failures.count)
        #expect(dom.contains("<h3>Per server</h3>"), "hermes-bench draws servers at random")
        #expect(dom.contains("<title>Hermes: cabin-pi</title>"))
        // The latest result's download, as the card shows it.
        let latest = try #require(results.last)
        let download = try #require(
            latest.components(separatedBy: #""download_mbps":"#).dropFirst().first?.split(separator: ",").first)
        let shown = Double(download).map { $0 >= 100 ? String(Int64($0.rounded())) : String(($0 * 10).rounded() / 10) }
        #expect(dom.contains("<dd>\(shown ?? "?") Mbit/s</dd>"), "card for \(download)")
        let days = Set(
            records.compactMap { $0.components(separatedBy: #""timestamp":""#).dropFirst().first?.prefix(10) })
        // One row per day that had tests, in the day table alone.
        let dayTable = try #require(
            dom.components(separatedBy: #"<table class="periods">"#).dropFirst().first?
                .components(separatedBy: "</table>").first)
        #expect(dayTable.components(separatedBy: #"<tr><th scope="row">"#).count - 1 == days.count)
        // Nothing but the file itself was asked for by the page: the only other requests in the log
        // are the browser's own services, which the empty namespace keeps in.
        let log = (try? String(contentsOfFile: netLog, encoding: .utf8)) ?? ""
        let browserHosts = ["google.com", "googleapis.com", "gvt1.com", "gstatic.com"]
        for url in Self.urls(in: log) {
            let host = url.split(separator: "/").dropFirst().first.map { String($0.split(separator: " ")[0]) } ?? ""
            #expect(browserHosts.contains { host == $0 || host.hasSuffix("." + $0) }, "the page asked for \(url)")
        }
        #expect(Self.pageConsole(outcome.stderr).isEmpty, "console messages: \(outcome.stderr)")
    }

    @Test(
        .enabled(if: canRun, Comment(rawValue: why)),
        arguments: [("1280,800", "light"), ("390,844", "light"), ("1280,800", "dark"), ("390,844", "dark")])
    func screenshotsAtDesktopAndPhoneSizesLightAndDark(size: String, scheme: String) throws {
        let directory = try TemporaryDirectory()
        let (path, _) = try Self.page(in: directory, probe: "home-zurich")
        let shots = FileManager.default.temporaryDirectory.appendingPathComponent("hermes-report-screenshots").path
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let png = "\(shots)/report-\(size.replacingOccurrences(of: ",", with: "x"))-\(scheme).png"
        let outcome = try Self.chrome(
            [
                "--window-size=\(size)", "--blink-settings=preferredColorScheme=\(scheme == "dark" ? 0 : 1)",
                "--screenshot=\(png)", "file://\(path)",
            ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        #expect(size > 10_000, "\(png) holds a rendered page")
        #expect(Self.pageConsole(outcome.stderr).isEmpty, "\(outcome.stderr)")
    }

    /// Inputs a person may have, each rendered and its DOM read back: nothing breaks, nothing from
    /// a record runs, and what the input says is on the page.
    static let inputs: [(name: String, records: String, expected: [String])] = [
        ("no record at all", "", ["Nothing to show yet"]),
        (
            "two probes",
            #"{"v":1,"type":"result","timestamp":"2026-06-01T10:00:00.000Z","download_mbps":93,"upload_mbps":20,"ping_ms":9,"jitter_ms":null,"isp_name":null,"server_name":"","server_location":"","server_id":null,"probe":"wan1"}"#
                + "\n"
                + #"{"v":1,"type":"result","timestamp":"2026-06-01T10:30:00.000Z","download_mbps":41,"upload_mbps":8,"ping_ms":30,"jitter_ms":null,"isp_name":null,"server_name":"","server_location":"","server_id":null,"probe":"wan2"}"#,
            ["<h2>Probes compared</h2>", "<h2>Probe wan1</h2>", "<h2>Probe wan2</h2>", "<dd>41.0 Mbit/s</dd>"]
        ),
        (
            "one record",
            #"{"v":1,"type":"result","timestamp":"2026-06-01T10:00:00.000Z","download_mbps":93.4,"upload_mbps":20,"ping_ms":9,"jitter_ms":null,"isp_name":null,"server_name":"","server_location":"","server_id":null}"#,
            ["<dd>93.4 Mbit/s</dd>", #"data-points="1""#]
        ),
        (
            "only failures",
            (0..<3).map {
                #"{"v":1,"type":"failure","timestamp":"2026-06-01T1\#($0):00:00.000Z","error":"could not connect","error_kind":"connect"}"#
            }.joined(separator: "\n"),
            ["The latest test failed", "No test has succeeded in this window.", "3 (connect 3)"]
        ),
        (
            "an outage day",
            (0..<96).map { index in
                let time =
                    "2026-06-0\(1 + index / 48)T\(String(format: "%02d", index % 48 / 2)):\(index % 2 == 0 ? "00" : "30"):00.000Z"
                return index < 48
                    ? #"{"v":1,"type":"result","timestamp":"\#(time)","download_mbps":90,"upload_mbps":20,"ping_ms":9,"jitter_ms":null,"isp_name":null,"server_name":"","server_location":"","server_id":null}"#
                    : #"{"v":1,"type":"failure","timestamp":"\#(time)","error":"no route","error_kind":"connect"}"#
            }.joined(separator: "\n"),
            [#"<tr><th scope="row">2026-06-02</th><td>48</td><td>48 (connect 48)</td>"#, #"data-points="48""#]
        ),
        (
            "hostile names",
            #"{"v":1,"type":"result","timestamp":"2026-06-01T10:00:00.000Z","download_mbps":50,"upload_mbps":5,"ping_ms":9,"jitter_ms":null,"isp_name":"<script>document.title='pwned'</script>","server_name":"\"Q\" & <b>bold</b>","server_location":"القاهرة, مصر","server_id":null}"#,
            ["&lt;script&gt;document.title=", "القاهرة"]
        ),
    ]

    @Test(.enabled(if: canRun, Comment(rawValue: why)), arguments: inputs.indices)
    func everyInputRendersAndSaysWhatItHolds(index: Int) throws {
        let input = Self.inputs[index]
        let directory = try TemporaryDirectory()
        let path = directory.file("report.html")
        let made = try Executable.named("hermes-report").run(
            ["--output", path, "--title", "Hermes"], stdin: input.records)
        #expect(made.status == 0, "\(input.name): \(made.stderr)")
        let outcome = try Self.chrome(["--dump-dom", "file://\(path)"])
        #expect(outcome.status == 0, "\(input.name)")
        #expect(outcome.stdout.contains("<title>Hermes</title>"), "\(input.name): a record changed the page")
        #expect(!outcome.stdout.contains("<script"), "\(input.name)")
        #expect(!outcome.stdout.contains("<b>bold"), "\(input.name)")
        for text in input.expected { #expect(outcome.stdout.contains(text), "\(input.name): \(text)") }
        #expect(Self.pageConsole(outcome.stderr).isEmpty, "\(input.name): \(outcome.stderr)")
    }

    @Test(.enabled(if: canRun, Comment(rawValue: why)))
    func pythonAndOoklaRecordsMakeAPageToo() throws {
        let sample = try String(
            contentsOfFile: ManualTests.packageRoot.path + "/scripts/sample/records.ndjson", encoding: .utf8)
        let directory = try TemporaryDirectory()
        let path = directory.file("report.html")
        let made = try Executable.named("hermes-report").run(["--output", path], stdin: sample)
        #expect(made.status == 0, "\(made.stderr)")
        let outcome = try Self.chrome(["--dump-dom", "file://\(path)"])
        #expect(outcome.stdout.contains("The latest test failed"))
        #expect(outcome.stdout.contains("rate_limited"))
        #expect(Self.pageConsole(outcome.stderr).isEmpty, "\(outcome.stderr)")
    }
}
