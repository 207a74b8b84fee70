import Glibc

/// Everything `hermes-target` can be told: where to listen, how to pace, and which faults to inject.
public struct TargetConfiguration: Sendable, Equatable {
    /// A numeric IPv4 or IPv6 address (no brackets) to bind to; loopback unless told otherwise.
    public var host: String
    /// 0 asks the kernel for a free port (`TargetServer.port` says which).
    public var port: UInt16
    /// Pacing of response bodies, in bytes per second; nil sends as fast as the socket takes them.
    public var downBytesPerSecond: Double?
    /// Pacing of request bodies read by the server, in bytes per second.
    public var upBytesPerSecond: Double?
    /// The queue of a paced direction holds this much traffic while the link is saturated, and a
    /// request without a body (a latency probe) waits behind it; nil keeps queues short (5 ms)
    /// and probes unaffected.
    public var bufferbloat: Duration?
    /// Added before the first byte of every response.
    public var responseDelay: Duration
    /// When set, every request is answered with this status (and a short text body).
    public var failStatus: Int?
    /// When set, every request is answered 429 with `Retry-After: <seconds>`.
    public var rateLimitRetryAfter: Int?
    /// Stop sending after this many body bytes of a response, keeping the connection open.
    public var stallAfter: Int64?
    /// Close the connection after this many body bytes of a response.
    public var closeAfter: Int64?
    /// Reported by the metadata endpoints.
    public var colo: String
    public var city: String
    public var country: String
    /// Largest request line plus headers accepted; a longer head is answered 431.
    public var maximumHeadBytes: Int
    /// A kept-alive connection with no new request for this long is closed.
    public var idleTimeout: Duration
    /// Connections served at once (a thread and a 64 KiB buffer each); more are answered 503.
    public var maxConnections = 1024
    /// Which of the shapes Cloudflare's speed test has sent `Server-Timing` in.
    public var serverTiming = ServerTimingShape.requestDuration

    /// The `Server-Timing` shapes of speed.cloudflare.com, oldest first, so that a client can be
    /// tried against each.
    public enum ServerTimingShape: String, CaseIterable, Sendable {
        /// `cfRequestDuration;dur=0.123456`: until mid-2024, and what most clients expect.
        case requestDuration = "request-duration"
        /// `cfRequestDuration;dur=…, cfL4;desc="?proto=TCP&rtt=…"`: from mid-2024.
        case requestDurationL4 = "request-duration-l4"
        /// `cfL4;desc="…"` alone, with no server time: March 2026.
        case l4
        /// `cfSpeedEdge;dur=N, cfSpeedWorker;dur=N, cfL4;desc="…"`, whole milliseconds: now.
        case edgeWorker = "edge-worker"
        /// No `Server-Timing` at all.
        case none
    }

    public init(
        host: String = "127.0.0.1", port: UInt16 = 8080, downBytesPerSecond: Double? = nil,
        upBytesPerSecond: Double? = nil, bufferbloat: Duration? = nil, responseDelay: Duration = .zero,
        failStatus: Int? = nil,
        rateLimitRetryAfter: Int? = nil, stallAfter: Int64? = nil, closeAfter: Int64? = nil,
        colo: String = "LOCAL", city: String = "Localhost", country: String = "ZZ",
        maximumHeadBytes: Int = 16 * 1024, idleTimeout: Duration = .seconds(60)
    ) {
        self.host = host
        self.port = port
        self.downBytesPerSecond = downBytesPerSecond
        self.upBytesPerSecond = upBytesPerSecond
        self.bufferbloat = bufferbloat
        self.responseDelay = responseDelay
        self.failStatus = failStatus
        self.rateLimitRetryAfter = rateLimitRetryAfter
        self.stallAfter = stallAfter
        self.closeAfter = closeAfter
        self.colo = colo
        self.city = city
        self.country = country
        self.maximumHeadBytes = maximumHeadBytes
        self.idleTimeout = idleTimeout
    }

    /// Parses `ADDR:PORT`: numeric IPv4, `[IPv6]` in brackets, or `localhost` (127.0.0.1); nil
    /// when malformed. The host comes back without brackets.
    public static func parseListenAddress(_ text: String) -> (host: String, port: UInt16)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        if host == "localhost" { host = "127.0.0.1" }
        var address = [UInt8](repeating: 0, count: 16)
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count > 2 {
            host = String(host.dropFirst().dropLast())
            guard inet_pton(AF_INET6, host, &address) == 1 else { return nil }
            return (host, port)
        }
        guard inet_pton(AF_INET, host, &address) == 1 else { return nil }
        return (host, port)
    }

    /// Megabits per second (10^6 bit/s) to bytes per second.
    public static func bytesPerSecond(megabits: Double) -> Double { megabits * 1_000_000 / 8 }
}
