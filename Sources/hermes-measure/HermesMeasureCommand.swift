import ArgumentParser
import Glibc
import HermesCLI
import HermesCore
import HermesMeasure

@main
struct HermesMeasureCommand: HermesCommand {
    static let configuration = CommandConfiguration(
        commandName: "hermes-measure",
        abstract: "Run a speed test against each server and print one Hermes record each.",
        discussion: """
            Prints one JSON record per server on standard output: a result, or a failure record \
            naming what failed (exit status 1 if any record is a failure). Several --server are \
            measured one after another, in order, under one run lock. Throughput is goodput over the steady part of each \
            direction, after parallel streams have ramped up; latency is the median of round trips \
            on a warm connection. Environment: HERMES_MEASURE_ENGINE, HERMES_MEASURE_SERVER (a \
            comma-separated list), HERMES_MEASURE_SERVER_LIST, HERMES_MEASURE_INTERFACE, \
            HERMES_MEASURE_IP_VERSION, HERMES_MEASURE_LINK, HERMES_MEASURE_CA_FILE, HERMES_MEASURE_RESPONSIVENESS, \
            HERMES_PROBE.
            """,
        version: HermesVersion.current
    )

    @Option(
        help: ArgumentHelp(
            "cloudflare (default), librespeed, nq (a server publishing /.well-known/nq) or ookla-cli.",
            valueName: "engine"))
    var engine: String?

    @Option(
        help: ArgumentHelp(
            "The server's base URL (cloudflare, librespeed); repeat to measure several, one record each.",
            valueName: "url"))
    var server: [String] = []

    @Option(
        help: ArgumentHelp(
            "A LibreSpeed server list (URL or file); the server with the lowest latency is used.",
            valueName: "url|file"))
    var serverList: String?

    @Flag(help: "Measure every server of --server-list, one record each, not only the nearest (librespeed).")
    var each = false

    @Option(
        help: ArgumentHelp(
            "Bind every connection to this interface (name) or local address; a multi-WAN host's link.",
            valueName: "name|address"))
    var interface: String?

    @Flag(name: [.customShort("4"), .customLong("ipv4")], help: "Resolve and connect over IPv4 only.")
    var ipv4 = false

    @Flag(name: [.customShort("6"), .customLong("ipv6")], help: "Resolve and connect over IPv6 only.")
    var ipv6 = false

    @Option(
        help: ArgumentHelp(
            "The path's name in the record's link field (default: the --interface given).", valueName: "name"))
    var link: String?

    @Option(
        name: .customLong("ca-file"),
        help: ArgumentHelp(
            "Trust the certificates in this PEM file instead of the system's, for a server whose certificate a private authority signed.",
            valueName: "file"))
    var caFile: String?

    @Option(
        help: ArgumentHelp(
            "At most <duration> per direction (default \(DurationArgument(MeasureSettings.defaultDuration))).",
            valueName: "duration"))
    var duration: DurationArgument?

    @Option(
        help: ArgumentHelp(
            "At most <n> parallel streams per direction (default \(MeasureSettings.defaultMaxStreams)); the test starts with 4.",
            valueName: "n"))
    var streams: Int?

    @Option(help: ArgumentHelp("At most <n> bytes per direction.", valueName: "n"))
    var maxBytes: Int64?

    @Flag(help: "Skip the download test (download_mbps is null).")
    var noDownload = false

    @Flag(help: "Skip the upload test (upload_mbps is null).")
    var noUpload = false

    @Option(
        help: ArgumentHelp(
            "After the throughput test, measure responsiveness under working conditions (RPM): parallel (both directions at once, one score; the default, and the mode when none is given), sequential (each direction on its own) or off.",
            valueName: "mode"))
    var responsiveness: String?

    @Flag(help: "Do not measure responsiveness, whatever HERMES_MEASURE_RESPONSIVENESS says.")
    var noResponsiveness = false

    @Option(
        help: ArgumentHelp(
            "The responsiveness test's interval, the draft's ID (default \(DurationArgument(ResponsivenessParameters().interval))).",
            valueName: "duration"))
    var responsivenessInterval: DurationArgument?

    @Option(
        help: ArgumentHelp(
            "At most <duration> per responsiveness test (default \(DurationArgument(MeasureSettings.defaultResponsivenessDuration))).",
            valueName: "duration"))
    var responsivenessDuration: DurationArgument?

    @Option(
        help: ArgumentHelp(
            "Hard deadline for each server's test (default 60s, plus --responsiveness-duration per responsiveness test; ookla-cli 120s).",
            valueName: "duration"))
    var timeout: DurationArgument?

    @Option(
        help: ArgumentHelp(
            "Hard deadline for the whole run of several servers (default: --timeout per server).",
            valueName: "duration"))
    var deadline: DurationArgument?

    @Option(
        help: ArgumentHelp(
            "Wait at most <duration> for another run on this host to finish (default \(DurationArgument(MeasureSettings.defaultLockWait))).",
            valueName: "duration"))
    var lockWait: DurationArgument?

    @Option(
        help: ArgumentHelp(
            "The probe name in the record (default: $HERMES_PROBE, else the host name).", valueName: "name"))
    var probe: String?

    @Option(
        help: ArgumentHelp(
            "Keep the rate-limit back-off and the lock in <dir> (default: $STATE_DIRECTORY, else ~/.local/state/hermes).",
            valueName: "dir"))
    var stateDirectory: String?

    @Option(
        help: ArgumentHelp(
            "The Ookla CLI to run for --engine ookla-cli, a path or a name in PATH (default speedtest).",
            valueName: "path"))
    var speedtest: String?

    static func normalized(_ arguments: [String]) -> [String] {
        defaultingValue(of: "--responsiveness", to: MeasureSettings.defaultResponsivenessMode.rawValue, in: arguments)
    }

    func validate() throws {
        try duration?.validate("--duration", in: .zero ... .seconds(300))
        if responsiveness != nil && noResponsiveness {
            throw ValidationError("give --responsiveness or --no-responsiveness, not both")
        }
        try responsivenessInterval?.validate("--responsiveness-interval", in: .milliseconds(100) ... .seconds(60))
        try responsivenessDuration?.validate("--responsiveness-duration", in: .zero ... .seconds(600))
        if let streams, !(1...64).contains(streams) {
            throw ValidationError("--streams must be 1 to 64, got \(streams)")
        }
        if let maxBytes, maxBytes < 1 { throw ValidationError("--max-bytes must be 1 or more, got \(maxBytes)") }
        try timeout?.validate("--timeout", in: .zero ... .seconds(3600))
        try deadline?.validate("--deadline", in: .zero ... .seconds(24 * 3600))
        if ipv4 && ipv6 { throw ValidationError("give -4 or -6, not both") }
        if interface?.isEmpty == true { throw ValidationError("--interface needs a name or an address") }
        if link?.isEmpty == true { throw ValidationError("--link needs a name") }
        if caFile?.isEmpty == true { throw ValidationError("--ca-file needs a path") }
        if each && serverList == nil { throw ValidationError("--each needs --server-list") }
        try lockWait?.validate("--lock-wait", in: .zero ... .seconds(3600), allowsZero: true)
        if let problem = MeasureSettings.usageProblem(flags, environment: .current()) {
            throw ValidationError(problem)
        }
        if !server.isEmpty && serverList != nil {
            throw ValidationError("give --server or --server-list, not both")
        }
        if stateDirectory?.isEmpty == true { throw ValidationError("--state-directory needs a path") }
    }

    /// The command line as the library takes it.
    var flags: MeasureSettings.Flags {
        var flags = MeasureSettings.Flags()
        flags.engine = engine
        flags.servers = server
        flags.serverList = serverList
        flags.each = each
        flags.interface = interface
        flags.ipVersion = ipv4 ? 4 : ipv6 ? 6 : nil
        flags.link = link
        flags.caFile = caFile
        flags.deadline = deadline?.duration
        flags.duration = duration?.duration
        flags.streams = streams
        flags.maxBytes = maxBytes
        flags.download = !noDownload
        flags.upload = !noUpload
        flags.timeout = timeout?.duration
        flags.lockWait = lockWait?.duration
        flags.probe = probe
        flags.stateDirectory = stateDirectory
        flags.speedtest = speedtest
        flags.responsiveness = noResponsiveness ? ResponsivenessMode.off.rawValue : responsiveness
        flags.responsivenessInterval = responsivenessInterval?.duration
        flags.responsivenessDuration = responsivenessDuration?.duration
        return flags
    }

    func run() throws {
        let start = ContinuousClock.now
        let settings: MeasureSettings
        do {
            settings = try MeasureSettings.resolve(flags, environment: .current())
        } catch {
            throw Self.failure(error.message, code: .configuration)
        }

        // The back-off file, judged as every state file is: damage is said and the file removed;
        // one from a newer version is left alone and the run stops here (78).
        switch RateLimitHold.read(from: settings.stateDirectory) {
        case .damaged(let problem):
            Self.diagnostics.report(problem)
            RateLimitHold.clear(in: settings.stateDirectory)
        case .newer(let problem): throw Self.failure(problem, code: .configuration)
        case .unreadable(let problem): Self.diagnostics.report(problem)
        case .none, .hold: break
        }

        let output = RecordOutput(settings)
        output.watchSignals(settings)
        output.watch(settings, start: start)
        let failures = Measurement.run(
            settings, output: output, progress: .forStandardError(Self.diagnostics), start: start)
        guard let first = failures.first else { return }
        let servers = output.written
        throw Self.failure(
            servers == 1 ? first.error : "\(failures.count) of \(servers) servers failed; first: \(first.error)",
            code: .measurementFailed)
    }
}
