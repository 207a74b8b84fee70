import Glibc
import HermesCore
import HermesHTTP

/// Everything one run of `hermes-measure` is told.
public struct MeasureSettings: Sendable {
    public enum Engine: String, Sendable, CaseIterable {
        case cloudflare
        case librespeed
        case ooklaCLI = "ookla-cli"
        /// Any server that publishes a responsiveness configuration (`/.well-known/nq`).
        case nq
    }

    public var engine: Engine = .cloudflare
    /// The server's base URL: Cloudflare-style base, or a LibreSpeed server. In a run of several
    /// servers, the one a target (`targets`) measures.
    public var server: String?
    /// Every `--server` given (or `HERMES_MEASURE_SERVER`'s comma-separated list), in order; one
    /// record each.
    public var servers: [String] = []
    /// `--each`: measure every server of `serverList`, not only the nearest.
    public var each = false
    /// `--interface`: an interface name or a local address every connection is bound to.
    public var interface: String?
    /// `-4`/`-6`.
    public var family = NetworkRoute.Family.any
    /// `--link`: the path's name in the record; the interface when not given.
    public var link: String?
    /// `--ca-file`: a PEM bundle trusted instead of the system's CA store.
    public var caFile: String?
    /// `--deadline`: bounds a run of several servers as a whole (default: `timeout` per server).
    public var deadline: Duration?
    /// A server of a list chosen for `--each` (the list is read once per run).
    var listEntry: LibreSpeedServer?
    /// A LibreSpeed server list: an http(s) URL or a file.
    public var serverList: String?
    /// Hard cap per direction.
    public var duration: Duration = MeasureSettings.defaultDuration
    /// The most parallel streams per direction.
    public var maxStreams = MeasureSettings.defaultMaxStreams
    /// Hard cap on the bytes moved per direction.
    public var maxBytes: Int64?
    public var download = true
    public var upload = true
    /// Hard deadline for the whole run, lock wait included.
    public var timeout: Duration = .seconds(60)
    /// How long to wait for another run's lock before giving up.
    public var lockWait: Duration = MeasureSettings.defaultLockWait

    public static let defaultDuration: Duration = .seconds(10)
    public static let defaultMaxStreams = 16
    public static let defaultLockWait: Duration = .seconds(30)
    /// The `probe` field; the host name when not set.
    public var probe: String?
    /// Where the rate-limit back-off is kept.
    public var stateDirectory: String
    /// Where the lock lives: the runtime directory under systemd, else the state directory.
    public var lockDirectory: String
    /// The Ookla CLI to run (`ookla-cli` engine): a path, or a name looked up in `PATH`.
    public var speedtestCommand = "speedtest"
    /// Round trips of the idle latency test.
    public var latencySamples = 12
    /// `--responsiveness`: after the throughput test, responsiveness under working conditions
    /// (draft-ietf-ippm-responsiveness), per direction or both at once.
    public var responsiveness = ResponsivenessMode.off
    /// The draft's parameters; `--responsiveness-interval` sets ID.
    public var responsivenessParameters = ResponsivenessParameters()
    /// `--responsiveness-duration`: at most this long per responsiveness test.
    public var responsivenessDuration = MeasureSettings.defaultResponsivenessDuration

    public static let defaultResponsivenessDuration: Duration = .seconds(30)
    /// The mode when neither `--responsiveness` nor the environment names one, and the mode a
    /// bare `--responsiveness` means: the draft's concurrent test, the experience of a link that
    /// is used both ways at once, in one test's time.
    public static let defaultResponsivenessMode = ResponsivenessMode.parallel
    /// Whether `--responsiveness` or the environment named the mode (else it is the default).
    public var responsivenessAsked = false

    /// The route every request of the run takes.
    public var route: NetworkRoute { NetworkRoute(interface: interface, family: family, caFile: caFile) }

    /// The record's `link`: `--link`, else the interface's name or address.
    public var linkName: String? { link ?? interface }

    /// The run-wide deadline: `--deadline`, else `--timeout` for each server.
    public func runDeadline(servers count: Int) -> Duration {
        deadline ?? timeout * max(1, count)
    }

    public init(stateDirectory: String, lockDirectory: String? = nil) {
        self.stateDirectory = stateDirectory
        self.lockDirectory = lockDirectory ?? stateDirectory
    }

    /// The default server of each engine; nil where the user must name one.
    public var serverURL: String? {
        if let server { return server }
        switch engine {
        case .cloudflare: return "https://speed.cloudflare.com"
        case .librespeed: return serverList
        case .ooklaCLI, .nq: return nil
        }
    }
}

extension MeasureSettings {
    /// What the command line said; nil where a flag was not given.
    public struct Flags: Sendable {
        /// As given: checked here with the variable, so both are judged alike (78 when unknown).
        public var engine: String?
        public var servers: [String] = []
        public var serverList: String?
        public var each = false
        public var interface: String?
        /// 4 or 6.
        public var ipVersion: Int?
        public var link: String?
        public var caFile: String?
        public var deadline: Duration?
        public var duration: Duration?
        public var streams: Int?
        public var maxBytes: Int64?
        public var download = true
        public var upload = true
        public var timeout: Duration?
        public var lockWait: Duration?
        public var probe: String?
        public var stateDirectory: String?
        public var speedtest: String?
        /// `--responsiveness [MODE]`, `--no-responsiveness` (off).
        public var responsiveness: String?
        public var responsivenessInterval: Duration?
        public var responsivenessDuration: Duration?

        public init() {}
    }

    /// Settings from flags, then `HERMES_MEASURE_*`/`HERMES_PROBE`, then defaults, all in this one
    /// place. Paths follow docs/ARCHITECTURE.md (Conventions): state in `$STATE_DIRECTORY` or the
    /// XDG state home, the lock in `$RUNTIME_DIRECTORY` when systemd provides one.
    public static func resolve(_ flags: Flags, environment: Environment) throws(ConfigurationError)
        -> MeasureSettings
    {
        let state = flags.stateDirectory ?? environment.stateDirectory
        // systemd passes a colon-separated list when several are configured; the first is ours.
        let runtime = environment.first("RUNTIME_DIRECTORY")?.value.split(separator: ":").first.map(String.init)
        var settings = MeasureSettings(
            stateDirectory: state, lockDirectory: flags.stateDirectory == nil ? runtime : nil)
        if let (source, name) = engineName(flags, environment: environment) {
            guard let engine = Engine(rawValue: name) else {
                let names = Engine.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigurationError("\(source): unknown engine '\(name)'; expected one of \(names)")
            }
            settings.engine = engine
        }
        if !flags.servers.isEmpty {
            settings.servers = flags.servers
        } else if let variable = environment.first("HERMES_MEASURE_SERVER") {
            // A comma-separated list; a URL has no unescaped comma worth keeping.
            settings.servers = variable.value.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0).trimming()
            }
        }
        settings.server = settings.servers.first
        settings.serverList = flags.serverList ?? environment.first("HERMES_MEASURE_SERVER_LIST")?.value
        settings.probe = flags.probe ?? environment.first("HERMES_PROBE")?.value
        for server in settings.servers where server.isEmpty {
            throw ConfigurationError(
                "a server must not be empty (HERMES_MEASURE_SERVER: \(settings.servers.count) given)")
        }
        if let list = settings.serverList, list.isEmpty {
            throw ConfigurationError("the server list must not be empty")
        }
        for server in settings.servers where !(server.hasPrefix("http://") || server.hasPrefix("https://")) {
            throw ConfigurationError("the server must be an http:// or https:// URL, got '\(server)'")
        }
        if Set(settings.servers).count < settings.servers.count {
            throw ConfigurationError("a server is named twice; each server is one series, measured once a run")
        }
        settings.each = flags.each
        if settings.each && (settings.serverList == nil || settings.engine != .librespeed) {
            throw ConfigurationError("--each measures every server of a --server-list; it needs --engine librespeed")
        }
        settings.interface = flags.interface ?? environment.first("HERMES_MEASURE_INTERFACE")?.value
        if settings.interface?.isEmpty == true { settings.interface = nil }
        settings.link = flags.link ?? environment.first("HERMES_MEASURE_LINK")?.value
        if settings.link?.isEmpty == true { settings.link = nil }
        if let version = flags.ipVersion {
            settings.family = version == 6 ? .ipv6 : .ipv4
        } else if let variable = environment.first("HERMES_MEASURE_IP_VERSION"), !variable.value.isEmpty {
            switch variable.value {
            case "4": settings.family = .ipv4
            case "6": settings.family = .ipv6
            default: throw ConfigurationError("\(variable.name): expected 4 or 6, got '\(variable.value)'")
            }
        }
        if settings.engine == .ooklaCLI && settings.family != .any {
            throw ConfigurationError("the ookla-cli engine cannot be held to one address family (-4/-6)")
        }
        if let (source, path) = flags.caFile.map({ ("--ca-file", $0) })
            ?? environment.first("HERMES_MEASURE_CA_FILE").flatMap({ $0.value.isEmpty ? nil : ($0.name, $0.value) })
        {
            guard settings.engine != .ooklaCLI else {
                throw ConfigurationError("the ookla-cli engine cannot be given a CA file (\(source))")
            }
            // Checked here, so a bundle that is not there is a configuration error (78), not a
            // failure record of every run.
            guard access(path, R_OK) == 0 else {
                throw ConfigurationError("\(source): cannot read \(path): \(String(cString: strerror(errno)))")
            }
            var status = stat()
            guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
                throw ConfigurationError("\(source): \(path) is not a file of PEM certificates")
            }
            settings.caFile = path
        }
        if settings.engine == .nq && settings.server == nil {
            throw ConfigurationError(
                "the nq engine needs --server URL: a server publishing /.well-known/nq, or its configuration's URL")
        }
        if settings.engine == .nq && settings.serverList != nil {
            throw ConfigurationError("the nq engine takes --server, not --server-list")
        }
        if settings.engine == .librespeed && settings.server == nil && settings.serverList == nil {
            throw ConfigurationError(
                "the librespeed engine needs --server URL or --server-list URL|FILE (or HERMES_MEASURE_SERVER)")
        }
        if let duration = flags.duration { settings.duration = duration }
        if let streams = flags.streams { settings.maxStreams = streams }
        settings.maxBytes = flags.maxBytes
        settings.download = flags.download
        settings.upload = flags.upload
        try settings.resolveResponsiveness(flags, environment: environment)
        // The Ookla CLI picks a server and tests for longer than Hermes's own engines; a
        // responsiveness test adds its own time per direction.
        let responsivenessTests =
            settings.responsiveness == .parallel
            ? 1 : settings.responsiveness == .sequential ? (settings.download ? 1 : 0) + (settings.upload ? 1 : 0) : 0
        settings.timeout =
            flags.timeout ?? .seconds(settings.engine == .ooklaCLI ? 120 : 60) + settings.responsivenessDuration
            * responsivenessTests
        if let lockWait = flags.lockWait { settings.lockWait = lockWait }
        settings.deadline = flags.deadline
        if let speedtest = flags.speedtest { settings.speedtestCommand = speedtest }
        return settings
    }

    /// `--responsiveness` and its parameters, else `HERMES_MEASURE_RESPONSIVENESS`, else the
    /// default mode; the ookla-cli engine has none unless asked, and then refuses.
    mutating func resolveResponsiveness(_ flags: Flags, environment: Environment) throws(ConfigurationError) {
        if let interval = flags.responsivenessInterval { responsivenessParameters.interval = interval }
        if let duration = flags.responsivenessDuration { responsivenessDuration = duration }
        let asked: (source: String, value: String)? =
            flags.responsiveness.map { ("--responsiveness", $0) }
            ?? environment.first("HERMES_MEASURE_RESPONSIVENESS").flatMap {
                $0.value.isEmpty ? nil : ($0.name, $0.value)
            }
        // On by default, where the engine has the test.
        let mode: ResponsivenessMode
        if let asked {
            guard let named = ResponsivenessMode(rawValue: asked.value) else {
                let modes = ResponsivenessMode.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigurationError("\(asked.source): unknown mode '\(asked.value)'; expected one of \(modes)")
            }
            mode = named
            responsivenessAsked = true
        } else {
            // A byte cap says the link is metered: a minute of full-rate load is not a default there.
            mode = maxBytes == nil ? Self.defaultResponsivenessMode : .off
        }
        if mode != .off && engine == .ooklaCLI {
            guard flags.responsiveness != nil else { return }
            throw ConfigurationError("the ookla-cli engine cannot measure responsiveness (--responsiveness)")
        }
        // A default test that an interval longer than the default duration leaves no room for is
        // not run; one asked for, or given its duration, is refused.
        if mode != .off && responsivenessDuration < responsivenessParameters.interval && !responsivenessAsked
            && flags.responsivenessDuration == nil
        {
            return
        }
        if mode != .off && responsivenessDuration < responsivenessParameters.interval {
            throw ConfigurationError(
                "--responsiveness-duration (\(DurationSyntax.format(responsivenessDuration))) is shorter than one interval (\(DurationSyntax.format(responsivenessParameters.interval)))"
            )
        }
        responsiveness = mode
    }

    /// The engine asked for, and where: `--engine`, else `HERMES_MEASURE_ENGINE`.
    static func engineName(_ flags: Flags, environment: Environment) -> (source: String, name: String)? {
        if let engine = flags.engine { return ("--engine", engine) }
        return environment.first("HERMES_MEASURE_ENGINE").map { ($0.name, $0.value) }
    }

    /// Flags that cannot go together with the engine asked for, whether it came from `--engine` or
    /// from the environment; checked before anything else, as a usage error (64).
    public static func usageProblem(_ flags: Flags, environment: Environment) -> String? {
        let engine = engineName(flags, environment: environment)?.name ?? Engine.cloudflare.rawValue
        if !flags.download && !flags.upload && engine != Engine.ooklaCLI.rawValue {
            return "--no-download and --no-upload together leave nothing to measure but latency"
        }
        return nil
    }
}
