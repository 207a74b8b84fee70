import ArgumentParser
import HermesCLI
import HermesCore
import HermesReport

extension ReportRun.Format: ExpressibleByArgument {}

@main
struct HermesReportCommand: HermesCommand {
    static let configuration = CommandConfiguration(
        commandName: "hermes-report",
        abstract: "Turn Hermes records into the connection's history for a person: a page, or a digest.",
        discussion: """
            Reads records on standard input, in any order and in every form the other tools accept, \
            such as the output of 'hermes-store query --type all'. The page (html, the default) is one \
            self-contained file: the latest result, charts of throughput and latency with failures \
            marked, tables per day and month, the newest results with a CSV download. The digest \
            (text, markdown) says how many tests ran \
            and failed (by kind), the longest outage, the median and worst download, upload and \
            latency with their change on the window before (when the input reaches back that far), \
            and the data the tests used: one line per fact, fit for a phone notification \
            (hermes-alert send). Bad lines are reported and skipped; the digest is still written, \
            and the exit status is then 65. <time> is RFC 3339 or a duration back from now: 30m, \
            12h, 7d, 2w.
            """,
        version: HermesVersion.current
    )

    @Option(help: "html (a self-contained page), text, or markdown for a notification that renders it.")
    var format = ReportRun.Format.html

    @Option(help: ArgumentHelp("The page's results table holds the newest <n> records.", valueName: "n"))
    var rows = 100

    @Option(
        help: ArgumentHelp(
            "The download you pay for: the page shows the share of tests reaching it.", valueName: "mbps"))
    var planDown: Double?

    @Option(help: ArgumentHelp("The upload you pay for, likewise.", valueName: "mbps"))
    var planUp: Double?

    @Option(help: ArgumentHelp("The window starts at <time> (default: the first record).", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("The window ends at <time> (default: the last record).", valueName: "time"))
    var until: String?

    @Option(help: ArgumentHelp("Only the records of this probe.", valueName: "name"))
    var probe: String?

    @Option(help: ArgumentHelp("The page's title and the digest's first words.", valueName: "text"))
    var title = "Hermes"

    @Option(
        help: ArgumentHelp(
            "Write the page or digest to <path>, replaced atomically, not to standard output.", valueName: "path"))
    var output: String?

    func validate() throws {
        let window = try TimeWindow.parse(since: since, until: until, now: .now())
        if let since = window.since, let until = window.until, since > until {
            throw ValidationError("--since is after --until")
        }
        if output?.isEmpty == true { throw ValidationError("--output needs a path") }
        guard (1...100_000).contains(rows) else { throw ValidationError("--rows must be 1 to 100000, got \(rows)") }
        for (flag, plan) in [("--plan-down", planDown), ("--plan-up", planUp)] {
            if let plan, !(plan > 0 && plan.isFinite) { throw ValidationError("\(flag) must be more than 0 Mbit/s") }
        }
        if title.trimming().isEmpty { throw ValidationError("--title needs some text") }
    }

    func run() throws {
        try Self.requirePipedInput()
        let now = Timestamp.now()
        var report = ReportRun(format: format, title: title, diagnostics: Self.diagnostics)
        report.rows = rows
        report.planDownMbps = planDown
        report.planUpMbps = planUp
        report.now = now
        (report.since, report.until) = try TimeWindow.parse(since: since, until: until, now: now)
        report.probe = probe
        report.outputPath = output
        let code = report.run(reading: 0)
        if code != .success { throw ArgumentParser.ExitCode(code.rawValue) }
    }
}
