import ArgumentParser
import HermesCLI
import HermesCore
import HermesMeasure

#if canImport(Glibc)
    import Glibc
#endif

@main
struct HermesMeasureCommand: HermesCommand {
    static let configuration = CommandConfiguration(
        commandName: "hermes-measure",
        abstract: "Run one speed test and print one Hermes record.",
        discussion: """
            Prints exactly one JSON record on standard output: a result, or a failure record \
            (exit status 1) naming what failed. Throughput is goodput over the steady part of each \
            direction, after parallel streams have ramped up; latency is the median of round trips \
            on a warm connection. Environment: HERMES_MEASURE_ENGINE, HERMES_MEASURE_SERVER, \
            HERMES_MEASURE_SERVER_LIST, HERMES_PROBE.
            """,
        version: HermesVersion.current
    )

    @Option(help: ArgumentHelp("cloudflare (default), librespeed or ookla-cli.", valueName: "engine"))
    var engine: String?

    @Option(help: ArgumentHelp("The server's base URL (cloudflare, librespeed).", valueName: "url"))
    var server: String?

    @Option(
        help: ArgumentHelp(
            "A LibreSpeed server list (URL or file); the server with the lowest latency is used.",
            valueName: "url|file"))
    var serverList: String?

    @Option(help: ArgumentHelp("At most <seconds> per direction.", valueName: "seconds"))
    var duration: Double = 10

    @Option(help: ArgumentHelp("At most <n> parallel streams per direction; the test starts with 4.", valueName: "n"))
    var streams: Int = 16

    @Option(help: ArgumentHelp("At most <n> bytes per direction.", valueName: "n"))
    var maxBytes: Int64?

    @Flag(help: "Skip the download test (download_mbps is null).")
    var noDownload = false

    @Flag(help: "Skip the upload test (upload_mbps is null).")
    var noUpload = false

    @Option(help: ArgumentHelp("Hard deadline for the whole run (default 60; ookla-cli 120).", valueName: "seconds"))
    var timeout: Double?

    @Option(help: ArgumentHelp("Wait at most <seconds> for another run on this host to finish.", valueName: "seconds"))
    var lockWait: Double = 30

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
        help: ArgumentHelp("The Ookla CLI to run for --engine ookla-cli, a path or a name in PATH.", valueName: "path"))
    var speedtest = "speedtest"

    func validate() throws {
        guard duration > 0 && duration <= 300 else {
            throw ValidationError("--duration must be more than 0 and at most 300 seconds, got \(duration)")
        }
        guard (1...64).contains(streams) else { throw ValidationError("--streams must be 1 to 64, got \(streams)") }
        if let maxBytes, maxBytes < 1 { throw ValidationError("--max-bytes must be 1 or more, got \(maxBytes)") }
        if noDownload && noUpload && engine != "ookla-cli" {
            throw ValidationError("--no-download and --no-upload together leave nothing to measure but latency")
        }
        if let timeout, !(timeout > 0 && timeout <= 3600) {
            throw ValidationError("--timeout must be more than 0 and at most 3600 seconds, got \(timeout)")
        }
        guard lockWait >= 0 && lockWait <= 3600 else {
            throw ValidationError("--lock-wait must be 0 to 3600 seconds, got \(lockWait)")
        }
        if server != nil && serverList != nil {
            throw ValidationError("give --server or --server-list, not both")
        }
        if stateDirectory?.isEmpty == true { throw ValidationError("--state-directory needs a path") }
    }

    func run() throws {
        let start = ContinuousClock.now
        var settings: MeasureSettings
        do {
            settings = try MeasureSettings.resolve(
                engine: engine, server: server, serverList: serverList, probe: probe,
                stateDirectory: stateDirectory, environment: .current())
        } catch {
            throw exitAfterReporting(error.message, code: .configuration, tool: "hermes-measure")
        }
        settings.duration = .milliseconds(Int64((duration * 1000).rounded()))
        settings.maxStreams = streams
        settings.maxBytes = maxBytes
        settings.download = !noDownload
        settings.upload = !noUpload
        settings.timeout = .milliseconds(
            Int64(((timeout ?? (settings.engine == .ooklaCLI ? 120 : 60)) * 1000).rounded()))
        settings.lockWait = .milliseconds(Int64((lockWait * 1000).rounded()))
        settings.speedtestCommand = speedtest

        let output = SingleRecordOutput()
        output.watch(settings, start: start)
        let record = Measurement.run(settings, progress: .forStandardError(), start: start)
        guard output.emit(record) else { return }
        if case .failure(let failure) = record {
            throw exitAfterReporting(failure.error, code: .measurementFailed, tool: "hermes-measure")
        }
    }
}
