import HermesCore

/// One request as its route sees it: the head, what came with it, and the server's settings.
struct Exchange {
    let request: Request
    /// The address the connection came from.
    let peerIP: String
    let configuration: TargetConfiguration
    /// When the head had been read; `/__down`'s Server-Timing counts from here.
    let received: ContinuousClock.Instant
    /// Request body bytes read and discarded.
    let bodyBytes: Int64
    /// How long an answer meant to measure latency waits first (see `Links.probeDelay`).
    let queueWait: Duration
    /// The connection's TCP round trip as the kernel keeps it (`TCP_INFO`), for `cfL4`.
    var tcp = TCPRoundTrip()

    /// Where the client reached the server, so the addresses in answers work from there: the
    /// host a front names in `X-Forwarded-Host` (nginx/hermes-target.conf), else `Host`.
    var host: String {
        forwarded("x-forwarded-host") ?? request.header("host") ?? "\(configuration.host):\(configuration.port)"
    }

    /// `https` when a TLS front says so in `X-Forwarded-Proto`; this server speaks plain HTTP.
    var scheme: String { forwarded("x-forwarded-proto")?.lowercased() == "https" ? "https" : "http" }

    /// The HTTP version the client spoke, as Cloudflare's `/meta` names it: what a front says in
    /// `X-Forwarded-HTTP` (nginx's `$server_protocol`, `HTTP/2.0`), else this server's HTTP/1.1.
    var httpProtocol: String {
        switch forwarded("x-forwarded-http")?.uppercased() {
        case "HTTP/2.0", "HTTP/2": "HTTP/2"
        case "HTTP/3.0", "HTTP/3": "HTTP/3"
        case "HTTP/1.0": "HTTP/1.0"
        default: "HTTP/1.1"
        }
    }

    /// The same as `/cdn-cgi/trace` names it: `h2`, `http/3`, `http/1.1`.
    var traceProtocol: String {
        switch httpProtocol {
        case "HTTP/2": "h2"
        default: httpProtocol.lowercased()
        }
    }

    /// The TLS version the client's connection used, from a front's `X-Forwarded-TLS` (nginx's
    /// `$ssl_protocol`, `TLSv1.3`); nil without TLS, as this server speaks none.
    var tlsVersion: String? {
        guard scheme == "https", let version = forwarded("x-forwarded-tls"), version.hasPrefix("TLSv"),
            version.count > 4, version.dropFirst(4).allSatisfy({ "0123456789.".contains($0) })
        else { return nil }
        return version
    }

    /// The scheme and host the client used, for the URLs in answers: `http://127.0.0.1:8080`,
    /// or `https://nq.example.net` behind a TLS front.
    var origin: String { "\(scheme)://\(host)" }

    /// The client's address: the connection's peer, or, when that is a front on this host (a
    /// loopback address), the last address of its `X-Forwarded-For`: the one the front itself
    /// saw, which a client cannot forge by sending the header. A remote peer's header is not
    /// believed.
    var clientIP: String {
        Self.clientAddress(peer: peerIP, forwardedFor: request.header("x-forwarded-for"))
    }

    /// The last `X-Forwarded-For` address when the peer is on this host, else the peer.
    static func clientAddress(peer: String, forwardedFor: String?) -> String {
        guard isLoopback(peer), let address = forwardedFor?.split(separator: ",").last?.trimming(),
            IPAddress.version(of: address) != nil
        else { return peer }
        return address
    }

    /// The first of a header's comma-separated values, trimmed; nil when absent or empty.
    private func forwarded(_ name: String) -> String? {
        guard let value = request.header(name)?.split(separator: ",").first?.trimming(), !value.isEmpty else {
            return nil
        }
        return value
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }

    /// The answer of the route the path names, or the refusal of an unknown path or method.
    func answer() -> Response {
        guard let route = Route(path: request.path) else {
            return .error(404, "no such endpoint: \(request.path)")
        }
        guard route.methods.contains(request.method) else {
            let allowed = route.methods.joined(separator: ", ")
            return .error(405, "\(request.method) is not allowed here", headers: [("Allow", allowed)])
        }
        switch route {
        case .down: return down()
        case .up: return up()
        case .meta: return meta()
        case .trace: return trace()
        case .garbage: return garbage()
        case .empty: return empty()
        case .getIP: return getIP()
        case .servers: return servers()
        case .nqConfiguration: return responsivenessConfiguration()
        case .small: return small()
        case .large: return large()
        case .slurp: return slurp()
        }
    }
}

/// The endpoints: Cloudflare's (`CloudflareRoutes.swift`), LibreSpeed's
/// (`LibreSpeedRoutes.swift`) and a responsiveness server's (`ResponsivenessRoutes.swift`). Every path is accepted with and without `.php` and under
/// `/backend/`, as LibreSpeed clients ask for its paths in either form.
private enum Route {
    case down, up, meta, trace, garbage, empty, getIP, servers
    case nqConfiguration, small, large, slurp

    init?(path: String) {
        var path = path
        if path.hasPrefix("/backend/") { path.removeFirst("/backend".count) }
        if path.hasSuffix(".php") { path.removeLast(4) }
        switch path {
        case "/__down": self = .down
        case "/__up": self = .up
        case "/meta": self = .meta
        case "/cdn-cgi/trace": self = .trace
        case "/garbage": self = .garbage
        case "/empty": self = .empty
        case "/getIP": self = .getIP
        case "/servers.json", "/servers", "/.well-known/librespeed": self = .servers
        case "/.well-known/nq", "/config": self = .nqConfiguration
        case "/small": self = .small
        case "/large": self = .large
        case "/slurp": self = .slurp
        default: return nil
        }
    }

    var methods: [String] {
        switch self {
        case .up, .slurp: ["POST", "PUT"]
        case .empty: ["GET", "HEAD", "POST", "PUT"]
        default: ["GET", "HEAD"]
        }
    }
}
