import ArgumentParser
import Glibc
import HermesCLI
import HermesCore
import HermesTarget

@main
struct HermesTargetCommand: HermesCommand {
    static let configuration = CommandConfiguration(
        commandName: "hermes-target",
        abstract: "Serve LibreSpeed, Cloudflare-style and responsiveness (nq) speed-test endpoints.",
        discussion: """
            Endpoints: GET /__down?bytes=N, POST /__up, GET /meta, GET /cdn-cgi/trace (Cloudflare \
            style); GET /garbage?ckSize=N, GET|POST /empty, GET /getIP?isp=true, GET /servers.json \
            (LibreSpeed, with or without .php); GET /.well-known/nq, GET /small, GET /large, POST /slurp \
            (a responsiveness server, draft-ietf-ippm-responsiveness). Pacing simulates one link per direction that all \
            connections share, so parallel streams divide the rate. \
            Listens on loopback unless told otherwise; with port 0 the chosen address is printed on \
            standard error. Plain HTTP/1.1: for clients that need TLS 1.3 and HTTP/2 (Apple's networkQuality), \
            put the shipped nginx front (share/hermes/nginx-hermes-target.conf) before it; its \
            X-Forwarded-Proto, -Host and -For are honoured (see hermes-target(1)).
            """,
        version: HermesVersion.current
    )

    @Option(
        help: ArgumentHelp(
            "Listen on <addr:port>: numeric IPv4, or IPv6 in brackets ([::1]:8080); port 0 picks one. Repeat to listen on several (default 127.0.0.1:8080).",
            valueName: "addr:port"))
    var listen: [String] = []

    private var listenAddresses: [String] { listen.isEmpty ? ["127.0.0.1:8080"] : listen }

    @Option(help: ArgumentHelp("Pace both directions to <mbps> Mbit/s in total.", valueName: "mbps"))
    var rate: Double?

    @Option(help: ArgumentHelp("Pace response bodies to <mbps> Mbit/s in total.", valueName: "mbps"))
    var downRate: Double?

    @Option(help: ArgumentHelp("Pace request bodies to <mbps> Mbit/s in total.", valueName: "mbps"))
    var upRate: Double?

    @Option(
        help: ArgumentHelp(
            "Wait <duration> before each response's first byte (a bare number is milliseconds).",
            valueName: "duration"))
    var delay = MillisecondsArgument(.zero)

    @Option(
        help: ArgumentHelp(
            "Let a saturated paced link queue <duration> of traffic, which latency probes wait behind (a bare number is milliseconds).",
            valueName: "duration"))
    var bufferbloat: MillisecondsArgument?

    @Option(help: ArgumentHelp("Answer every request with HTTP status <code>.", valueName: "code"))
    var failStatus: Int?

    @Flag(help: "Answer every request with 429 Too Many Requests and Retry-After.")
    var rateLimit = false

    @Option(help: ArgumentHelp("The Retry-After of --rate-limit, in whole seconds.", valueName: "duration"))
    var retryAfter = DurationArgument(.seconds(60))

    @Option(
        help: ArgumentHelp("Stop sending after <bytes> body bytes, keeping the connection open.", valueName: "bytes"))
    var stallAfter: Int64?

    @Option(help: ArgumentHelp("Close the connection after <bytes> body bytes.", valueName: "bytes"))
    var closeAfter: Int64?

    @Option(help: ArgumentHelp("Serve at most <n> connections at once; more are answered 503.", valueName: "n"))
    var maxConnections = 1024

    @Option(help: ArgumentHelp("Data-centre code reported by /meta and /cdn-cgi/trace.", valueName: "code"))
    var colo = "LOCAL"

    @Option(help: ArgumentHelp("City reported by the metadata endpoints.", valueName: "name"))
    var city = "Localhost"

    @Option(help: ArgumentHelp("Country code reported by the metadata endpoints.", valueName: "cc"))
    var country = "ZZ"

    @Option(
        help: ArgumentHelp(
            "The Server-Timing shape of /__down and /__up, one Cloudflare's service has sent: request-duration (cfRequestDuration; until 2024), request-duration-l4 (with cfL4), l4 (no server time), edge-worker (cfSpeedEdge and cfSpeedWorker; now) or none.",
            valueName: "shape"))
    var serverTiming = TargetConfiguration.ServerTimingShape.requestDuration

    func validate() throws {
        for address in listenAddresses where TargetConfiguration.parseListenAddress(address) == nil {
            throw ValidationError("--listen needs a numeric IPv4 ADDR:PORT or [IPv6]:PORT, got '\(address)'")
        }
        for (name, value) in [("--rate", rate), ("--down-rate", downRate), ("--up-rate", upRate)] {
            if let value, !(value > 0 && value.isFinite) {
                throw ValidationError("\(name) must be more than 0 Mbit/s, got \(value)")
            }
        }
        try delay.validate("--delay", in: .zero ... .seconds(600), allowsZero: true)
        if let bufferbloat {
            try bufferbloat.validate("--bufferbloat", in: .zero ... .seconds(60))
            guard rate != nil || downRate != nil || upRate != nil else {
                throw ValidationError("--bufferbloat needs a paced link: add --rate, --down-rate or --up-rate")
            }
        }
        if let failStatus, !(200...599).contains(failStatus) {
            throw ValidationError("--fail-status must be an HTTP status from 200 to 599, got \(failStatus)")
        }
        // Whole seconds in an Int on both ends; the header carries what was asked.
        try retryAfter.validate("--retry-after", in: .zero ... .seconds(Int64(Int32.max)), allowsZero: true)
        guard (1...65536).contains(maxConnections) else {
            throw ValidationError("--max-connections must be 1 to 65536, got \(maxConnections)")
        }
        if let stallAfter, stallAfter < 0 { throw ValidationError("--stall-after must be 0 or more") }
        if let closeAfter, closeAfter < 0 { throw ValidationError("--close-after must be 0 or more") }
    }

    func run() throws {
        var configuration = TargetConfiguration(
            host: "127.0.0.1", port: 8080,
            downBytesPerSecond: (downRate ?? rate).map(TargetConfiguration.bytesPerSecond(megabits:)),
            upBytesPerSecond: (upRate ?? rate).map(TargetConfiguration.bytesPerSecond(megabits:)),
            bufferbloat: bufferbloat?.duration, responseDelay: delay.duration, failStatus: failStatus,
            rateLimitRetryAfter: rateLimit ? Int(retryAfter.seconds.rounded()) : nil, stallAfter: stallAfter,
            closeAfter: closeAfter,
            colo: colo, city: city, country: country)
        configuration.maxConnections = maxConnections
        configuration.serverTiming = serverTiming
        // One server per address: each keeps its own pacing, as each is a path of its own.
        var servers: [TargetServer] = []
        for address in listenAddresses {
            (configuration.host, configuration.port) = TargetConfiguration.parseListenAddress(address)!
            do {
                servers.append(try TargetServer(configuration: configuration))
            } catch {
                throw HermesTargetCommand.failure(error.message, code: .unavailable)
            }
        }
        // A parent may have started us with these blocked (test runners do); a server must stop on them.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&stopSignals, signal) }
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        for server in servers { HermesTargetCommand.diagnostics.report("listening on \(server.address)") }
        for server in servers.dropLast() { server.start() }
        servers.last!.run()
        throw HermesTargetCommand.failure("stopped accepting connections", code: .ioError)
    }
}

extension TargetConfiguration.ServerTimingShape: ExpressibleByArgument {}
