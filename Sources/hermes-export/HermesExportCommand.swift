import ArgumentParser
import HermesCLI
import HermesCore
import HermesExport

@main
struct HermesExportCommand: HermesCommand {
    static let configuration = CommandConfiguration(
        commandName: "hermes-export",
        abstract: "Export Hermes records as Prometheus metrics (node_exporter textfile or stdout) and to Loki.",
        discussion: """
            Reads newline-delimited JSON records from standard input. --textfile and --prometheus \
            describe the latest record; a failure keeps the last good values and sets \
            hermes_last_run_success to 0. --loki pushes every record. Loki is also used when \
            $HERMES_LOKI_URL or $LOKI_URL is set. Rejected lines are reported on standard error; \
            valid records around them are still exported, and the exit status is then 65.
            """,
        version: HermesVersion.current
    )

    @Option(
        help: ArgumentHelp(
            "Write the metrics to <path> (use a .prom name in node_exporter's textfile directory).",
            valueName: "path"))
    var textfile: String?

    @Flag(help: "Write the metrics in the Prometheus text format to standard output at the end of the input.")
    var prometheus = false

    @Flag(help: "Also write the Python Hermes gauges (hermes_download_mbps, ...) for old dashboards.")
    var compatMetrics = false

    @Option(help: ArgumentHelp("Push every record to the Loki at <url> (base or full push URL).", valueName: "url"))
    var loki: String?

    @Option(
        help: ArgumentHelp("The Loki job label (default: $LOKI_JOB_LABEL, else hermes_speedtest).", valueName: "name"))
    var lokiJob: String?

    @Option(help: ArgumentHelp("Add a static Loki stream label; repeatable.", valueName: "name=value"))
    var lokiLabel: [String] = []

    @Option(help: ArgumentHelp("Send X-Scope-OrgID: <tenant> to a multi-tenant Loki.", valueName: "tenant"))
    var lokiTenant: String?

    @Option(help: ArgumentHelp("User name for HTTP basic authentication to Loki.", valueName: "name"))
    var lokiUser: String?

    @Option(
        help: ArgumentHelp(
            "Read the basic-authentication password from <path> (default: $CREDENTIALS_DIRECTORY/loki-password).",
            valueName: "path"))
    var lokiPasswordFile: String?

    @Option(
        help: ArgumentHelp(
            "Read a bearer token from <path> (default: $CREDENTIALS_DIRECTORY/loki-token).", valueName: "path"))
    var lokiTokenFile: String?

    @Option(help: ArgumentHelp("Give up on one Loki request after <duration>.", valueName: "duration"))
    var lokiTimeout = DurationArgument(.seconds(10))

    @Option(
        help: ArgumentHelp("Retry 429, 5xx and network errors up to <n> times.", valueName: "n"))
    var lokiRetries: Int = 5

    @Flag(help: "Write every record to standard output in canonical form, for the next tool in the pipe.")
    var tee = false

    func validate() throws {
        if prometheus && tee {
            throw ValidationError("--prometheus and --tee both write to standard output; use --textfile with --tee")
        }
        if textfile?.isEmpty == true { throw ValidationError("--textfile needs a path") }
        if let loki, !(loki.hasPrefix("http://") || loki.hasPrefix("https://")) {
            throw ValidationError("--loki needs an http:// or https:// URL")
        }
        try lokiTimeout.validate("--loki-timeout", in: .zero ... .seconds(3600))
        if !(0...100).contains(lokiRetries) { throw ValidationError("--loki-retries must be 0 to 100") }
        if lokiPasswordFile != nil && lokiTokenFile != nil {
            throw ValidationError("give --loki-password-file or --loki-token-file, not both")
        }
        if lokiPasswordFile != nil && lokiUser == nil {
            throw ValidationError("--loki-password-file needs --loki-user")
        }
        for pair in lokiLabel {
            do { _ = try LokiConfiguration.label(pair) } catch { throw ValidationError(error.message) }
        }
        if let lokiJob, lokiJob.isEmpty { throw ValidationError("--loki-job needs a name") }
    }

    func run() throws {
        try Self.requirePipedInput()
        var flags = LokiConfiguration.Flags()
        flags.url = loki
        flags.job = lokiJob
        flags.labels = lokiLabel
        flags.tenant = lokiTenant
        flags.user = lokiUser
        flags.passwordFile = lokiPasswordFile
        flags.tokenFile = lokiTokenFile
        flags.timeout = lokiTimeout.duration
        flags.retries = lokiRetries
        let lokiConfiguration: LokiConfiguration?
        do {
            lokiConfiguration = try LokiConfiguration.resolve(flags, environment: .current())
        } catch {
            throw Self.failure(error.message, code: .configuration)
        }
        let diagnostics = Self.diagnostics
        // The sinks, in the order they flush; a new sink is one line here.
        let chosen: [(any ExportSink)?] = [
            tee ? TeeSink(.standardOutput()) : nil,
            textfile.map { TextfileSink(Textfile(path: $0)) },
            lokiConfiguration.map { LokiSink(LokiClient(configuration: $0, diagnostics: diagnostics)) },
            prometheus ? ExpositionSink(.standardOutput()) : nil,
        ]
        let sinks = chosen.compactMap { $0 }
        guard !sinks.isEmpty else {
            throw ValidationError("nothing to export to: give --textfile, --prometheus or --loki (or set LOKI_URL)")
        }
        var export = Export(sinks: sinks, diagnostics: diagnostics)
        export.compatibilityMetrics = compatMetrics
        let summary = export.run(reading: 0)
        if summary.exitCode != .success { throw ArgumentParser.ExitCode(summary.exitCode.rawValue) }
    }
}
