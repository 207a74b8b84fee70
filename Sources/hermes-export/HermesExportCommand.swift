import ArgumentParser
import HermesCLI
import HermesCore
import HermesExport

@main
struct HermesExportCommand: HermesCommand {
    static let configuration = CommandConfiguration(
        commandName: "hermes-export",
        abstract:
            "Export Hermes records as Prometheus metrics (node_exporter textfile, stdout or remote write) and to Loki.",
        discussion: """
            Reads newline-delimited JSON records from standard input. --textfile and --prometheus \
            describe the latest record; a failure keeps the last good values and sets \
            hermes_last_run_success to 0. --loki and --remote-write push every record (also when \
            $HERMES_LOKI_URL, $LOKI_URL or $HERMES_REMOTE_WRITE_URL is set). A push spools each \
            record first and sends the spool oldest first: what the receiver does not take waits \
            for the next run, which is not an error (exit 0, reported on standard error and in \
            hermes_spool_entries). Rejected lines are reported on standard error; valid records \
            around them are still exported, and the exit status is then 65.
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

    @Flag(
        help:
            "Label every sample with its series (probe, link, server) even when the input has one: for textfiles that share a node_exporter directory, one per link."
    )
    var seriesLabels = false

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

    @Option(
        help: ArgumentHelp(
            "Push every record to the Prometheus remote-write endpoint at <url> (remote write 1.0).",
            valueName: "url"))
    var remoteWrite: String?

    @Option(
        help: ArgumentHelp("Send X-Scope-OrgID: <tenant> with remote writes (Mimir, Cortex).", valueName: "tenant"))
    var remoteWriteTenant: String?

    @Option(help: ArgumentHelp("User name for HTTP basic authentication to remote write.", valueName: "name"))
    var remoteWriteUser: String?

    @Option(
        help: ArgumentHelp(
            "Read the remote-write password from <path> (default: $CREDENTIALS_DIRECTORY/remote-write-password).",
            valueName: "path"))
    var remoteWritePasswordFile: String?

    @Option(
        help: ArgumentHelp(
            "Read a remote-write bearer token from <path> (default: $CREDENTIALS_DIRECTORY/remote-write-token).",
            valueName: "path"))
    var remoteWriteTokenFile: String?

    @Option(help: ArgumentHelp("Give up on one remote-write request after <duration>.", valueName: "duration"))
    var remoteWriteTimeout = DurationArgument(.seconds(10))

    @Option(help: ArgumentHelp("Retry 429, 5xx and network errors of remote write up to <n> times.", valueName: "n"))
    var remoteWriteRetries: Int = 5

    @Option(
        help: ArgumentHelp(
            "The X-Scope-OrgID of every push that has no tenant of its own (--loki-tenant, --remote-write-tenant).",
            valueName: "tenant"))
    var tenant: String?

    @Option(
        help: ArgumentHelp(
            "Add a label to every textfile sample and remote-write series; repeatable.", valueName: "name=value"))
    var label: [String] = []

    @Option(
        help: ArgumentHelp(
            "Keep what the receivers have not accepted in <dir> (default: $STATE_DIRECTORY/spool, else ~/.local/state/hermes/spool).",
            valueName: "dir"))
    var spool: String?

    @Flag(help: "Push straight to the receivers: records they do not take are lost (exit 75).")
    var noSpool = false

    @Option(
        help: ArgumentHelp(
            "Drop the oldest spooled records beyond <size> per receiver (\(ByteSize.examples)).", valueName: "size"))
    var spoolMaxBytes = ByteSizeArgument(SpoolSettings.defaultMaximumBytes)

    @Option(help: ArgumentHelp("Drop spooled records waiting longer than <duration>.", valueName: "duration"))
    var spoolMaxAge = DurationArgument(SpoolSettings.defaultMaximumAge)

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
        if let remoteWrite, !(remoteWrite.hasPrefix("http://") || remoteWrite.hasPrefix("https://")) {
            throw ValidationError("--remote-write needs an http:// or https:// URL")
        }
        try remoteWriteTimeout.validate("--remote-write-timeout", in: .zero ... .seconds(3600))
        if !(0...100).contains(remoteWriteRetries) { throw ValidationError("--remote-write-retries must be 0 to 100") }
        if remoteWritePasswordFile != nil && remoteWriteTokenFile != nil {
            throw ValidationError("give --remote-write-password-file or --remote-write-token-file, not both")
        }
        if remoteWritePasswordFile != nil && remoteWriteUser == nil {
            throw ValidationError("--remote-write-password-file needs --remote-write-user")
        }
        for pair in label {
            do { _ = try MetricLabels.label(pair) } catch { throw ValidationError(error.message) }
        }
        if spool?.isEmpty == true { throw ValidationError("--spool needs a directory") }
        if noSpool && spool != nil { throw ValidationError("give --spool or --no-spool, not both") }
        if spoolMaxBytes.bytes < 4096 { throw ValidationError("--spool-max-bytes must be at least 4K") }
        try spoolMaxAge.validate("--spool-max-age", in: .zero ... .seconds(366 * 86400))
    }

    func run() throws {
        try Self.requirePipedInput()
        var flags = LokiConfiguration.Flags()
        flags.push.url = loki
        flags.job = lokiJob
        flags.labels = lokiLabel
        flags.push.user = lokiUser
        flags.push.passwordFile = lokiPasswordFile
        flags.push.tokenFile = lokiTokenFile
        flags.push.timeout = lokiTimeout.duration
        flags.push.retries = lokiRetries
        flags.push.tenant = lokiTenant ?? tenant
        var remoteFlags = RemoteWriteConfiguration.Flags()
        remoteFlags.url = remoteWrite
        remoteFlags.tenant = remoteWriteTenant ?? tenant
        remoteFlags.user = remoteWriteUser
        remoteFlags.passwordFile = remoteWritePasswordFile
        remoteFlags.tokenFile = remoteWriteTokenFile
        remoteFlags.timeout = remoteWriteTimeout.duration
        remoteFlags.retries = remoteWriteRetries
        let environment = Environment.current()
        let lokiConfiguration: LokiConfiguration?
        let remoteConfiguration: RemoteWriteConfiguration?
        let labels: [(name: String, value: String)]
        do {
            lokiConfiguration = try LokiConfiguration.resolve(flags, environment: environment)
            remoteConfiguration = try RemoteWriteConfiguration.resolve(remoteFlags, environment: environment)
            labels = try label.map { pair throws(ConfigurationError) in try MetricLabels.label(pair) }
        } catch {
            throw Self.failure(error.message, code: .configuration)
        }
        var spoolSettings: SpoolSettings?
        if !noSpool {
            var settings = SpoolSettings(root: spool ?? environment.stateDirectory + "/spool")
            settings.maximumBytes = spoolMaxBytes.bytes
            settings.maximumAge = spoolMaxAge.duration
            spoolSettings = settings
        }
        let diagnostics = Self.diagnostics
        // The sinks, in the order they flush; a new sink is one line here.
        let chosen: [(any ExportSink)?] = [
            tee ? TeeSink(.standardOutput()) : nil,
            textfile.map { TextfileSink(Textfile(path: $0, labelNames: Set(labels.map(\.name)))) },
            lokiConfiguration.map {
                PushSink(LokiTarget(LokiClient(configuration: $0, diagnostics: diagnostics)), spool: spoolSettings)
            },
            remoteConfiguration.map {
                PushSink(RemoteWriteTarget($0, diagnostics: diagnostics), spool: spoolSettings)
            },
            prometheus ? ExpositionSink(.standardOutput()) : nil,
        ]
        let sinks = chosen.compactMap { $0 }
        guard !sinks.isEmpty else {
            throw ValidationError(
                "nothing to export to: give --textfile, --prometheus, --loki or --remote-write (or set LOKI_URL)")
        }
        var export = Export(sinks: sinks, diagnostics: diagnostics)
        export.compatibilityMetrics = compatMetrics
        export.labelsSeries = seriesLabels
        export.labels = labels
        let summary = export.run(reading: 0)
        if summary.exitCode != .success { throw ArgumentParser.ExitCode(summary.exitCode.rawValue) }
    }
}
