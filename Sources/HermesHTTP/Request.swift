import Glibc
import HermesCore

/// Everything needed to perform one HTTP request. A plain value: build it anywhere, hand it to
/// `EasyTransfer`, `MultiTransfer` or `HTTPClient` on the thread that should do the I/O.
///
/// The defaults are the safe ones: TLS peer and host verification always on, redirects returned
/// to the caller, a total timeout, and a capped in-memory response body.
public struct HTTPRequest: Sendable {
    public var url: String
    public var method: HTTPMethod
    public var headers: HTTPHeaders
    public var body: RequestBody
    public var responseBody: ResponseBodyHandling
    public var timeouts: HTTPTimeouts
    public var redirects: RedirectPolicy
    /// Connect to this numeric IPv4 or IPv6 address instead of resolving the URL's host. The Host
    /// header, TLS SNI and certificate checks still use the URL's host, so an address that was
    /// checked beforehand (for example against an allow-list) is the one connected to. Applies
    /// to the URL's own host and port only, so a pinned request may not follow redirects
    /// (`invalidRequest`): the next hop would be an address nobody checked. A pinned request
    /// never goes through a proxy named in the environment (`http_proxy` and the like).
    public var pinnedAddress: String?
    /// A PEM bundle to trust instead of the system's CA store. There is deliberately no way to
    /// turn verification off.
    public var caFile: String?
    /// Sent as `User-Agent`; an empty string sends none.
    public var userAgent: String
    /// libcurl's receive buffer: the most one read takes from the socket, and the largest chunk
    /// a streaming sink sees (at most 10 MiB). 100 KiB suits most requests; a speed test that
    /// only counts bytes spends markedly less CPU per byte with 512 KiB.
    public var receiveBufferSize = 100 * 1024
    /// libcurl's upload buffer: the most one read callback fills and one send hands the socket
    /// (16 KiB to 2 MiB). libcurl's 64 KiB suits most bodies; a speed test's upload spends less
    /// CPU per byte with larger sends.
    public var sendBufferSize = 64 * 1024
    /// Polled while the transfer runs (at least about once a second, more often while data
    /// moves); returning true stops it with `HTTPError.Kind.aborted`. Lets another thread cancel
    /// a blocking `perform`.
    public var isCancelled: (@Sendable () -> Bool)?
    /// The path the connection takes: bound to an interface or a source address, and held to one
    /// address family. A kept-alive connection is reused only by requests on the same route.
    public var route = NetworkRoute.any
    /// Open a connection of its own and close it after (a responsiveness foreign probe, whose
    /// handshakes are what it measures), never a kept-alive one.
    public var newConnection = false
    /// Reset the connection when it closes (SO_LINGER 0): what its send buffer still holds is
    /// dropped, not sent on after the transfer was stopped. A speed test's upload, cut at the
    /// phase's end, would otherwise go on loading the link for seconds, into the next phase.
    public var resetOnClose = false
    /// The TLS versions the handshake may settle on.
    public var tlsVersions = TLSVersions.any
    /// Report the connection's round-trip time (TCP_INFO: the sender's smoothed RTT when the
    /// request sends a body, the receiver's estimate when it receives) in each progress
    /// snapshot: a responsiveness self probe on a load connection over HTTP/1.1.
    public var reportsRoundTrip = false
    /// Ride an HTTP/2 connection that another transfer of the same `MultiTransfer` is using, as
    /// a new stream beside it (libcurl's PIPEWAIT; the multi handle allows multiplexing only while
    /// it starts such a request): a responsiveness self probe on a load connection. Where no
    /// connection can take it (HTTP/1.1), it opens one of its own; `TransferMetrics.newConnections`
    /// and `.httpVersion` tell which happened.
    public var multiplexesOnBusyConnection = false

    private var displayURLOverride: String?

    public init(
        url: String,
        method: HTTPMethod = .get,
        headers: HTTPHeaders = [:],
        body: RequestBody = .empty,
        responseBody: ResponseBodyHandling = .collect(limit: 1 << 20),
        timeouts: HTTPTimeouts = HTTPTimeouts(),
        redirects: RedirectPolicy = .doNotFollow
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.responseBody = responseBody
        self.timeouts = timeouts
        self.redirects = redirects
        self.userAgent = "hermes"
    }

    /// How the URL appears in error messages. By default: the URL without user info, query and
    /// fragment, where credentials and tokens usually live. Set it when the path itself is
    /// secret, as in webhook URLs (`https://hooks.example/services/T0/B0/secret`).
    public var displayURL: String {
        get { displayURLOverride ?? ParsedURL.redact(url) }
        set { displayURLOverride = newValue }
    }
}

/// Where a request's connection goes out, and whom it trusts there: `--interface`, `-4`/`-6`
/// and `--ca-file` of a speed test.
public struct NetworkRoute: Sendable, Equatable, Hashable {
    public enum Family: Sendable, Equatable, Hashable {
        case any, ipv4, ipv6

        /// "IPv4", "IPv6"; nil for any.
        public var name: String? {
            switch self {
            case .any: nil
            case .ipv4: "IPv4"
            case .ipv6: "IPv6"
            }
        }
    }

    /// An interface name (`eth1`, bound with `SO_BINDTODEVICE`, so the route lookup uses that
    /// device) or a numeric local address to bind to; nil for the kernel's choice.
    public var interface: String?
    /// The family name resolution and the connection are restricted to.
    public var family: Family

    /// A PEM bundle trusted instead of the system's CA store, for a server whose certificate a
    /// private authority signed; a request's own `caFile` comes first.
    public var caFile: String?

    public init(interface: String? = nil, family: Family = .any, caFile: String? = nil) {
        self.interface = interface
        self.family = family
        self.caFile = caFile
    }

    public static let any = NetworkRoute()

    /// True when `interface` is a numeric IPv4 or IPv6 address rather than an interface name.
    public var bindsAddress: Bool { interface.map(NetworkRoute.isNumericAddress) ?? false }

    public static func isNumericAddress(_ text: String) -> Bool { IPAddress.version(of: text) != nil }

    /// The family of a numeric address as libcurl reports it (`CURLINFO_PRIMARY_IP`): 4 or 6.
    public static func ipVersion(of address: String) -> Int? { IPAddress.version(of: address) }
}

/// An HTTP method token such as `GET`. Any token is allowed; the common ones have names.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public static let get = HTTPMethod(rawValue: "GET")
    public static let head = HTTPMethod(rawValue: "HEAD")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let put = HTTPMethod(rawValue: "PUT")
    public static let patch = HTTPMethod(rawValue: "PATCH")
    public static let delete = HTTPMethod(rawValue: "DELETE")

    public var description: String { rawValue }
}

/// The request body. Bodies are handed to libcurl piece by piece, never copied whole.
public enum RequestBody: Sendable {
    case empty
    /// A small body held in memory, such as a JSON document.
    case bytes([UInt8])
    /// A body produced while it is sent. `source` fills `buffer` with the bytes that start at
    /// `offset` and says how many it wrote. It receives the offset, rather than keeping its own
    /// position, so that libcurl can rewind it (a retry on a stale kept-alive connection, a 307
    /// redirect) and so that a generator can be a pure function of the offset. With a known
    /// `length` it is never asked for more than `length` bytes, and ending early is an error;
    /// with nil the body is sent chunked until the source returns `.end`.
    case stream(
        length: Int64?,
        source: @Sendable (_ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) -> BodySourceStep
    )
}

/// What a streaming body source did with the buffer it was given.
public enum BodySourceStep: Sendable, Equatable {
    /// Wrote this many bytes (1 up to the buffer's size) to the start of the buffer.
    case filled(Int)
    /// The body is complete; nothing was written.
    case end
    /// Stop the transfer; it fails with `HTTPError.Kind.aborted`.
    case abort
}

/// Where the response body goes.
public enum ResponseBodyHandling: Sendable {
    /// Keep it in `HTTPResponse.body`, up to `limit` bytes. A longer body fails the request with
    /// `HTTPError.Kind.protocol` instead of growing memory without bound.
    case collect(limit: Int)
    /// Hand each chunk (at most `receiveBufferSize`) to `sink` as it arrives; nothing is kept. The chunk is
    /// only valid during the call.
    case stream(@Sendable (_ chunk: UnsafeRawBufferPointer) -> StreamDecision)
    /// Drop it, counting bytes only (`TransferMetrics.bytesReceived`, `TransferProgress`), as a
    /// download speed test does.
    case discard
}

/// A streaming sink's answer after each chunk.
public enum StreamDecision: Sendable, Equatable {
    case proceed
    /// Stop the transfer; it fails with `HTTPError.Kind.aborted`.
    case abort
}

/// Time limits of one request. Every request has a total limit, so nothing waits forever.
public struct HTTPTimeouts: Sendable, Equatable {
    /// For name resolution plus TCP and TLS handshakes.
    public var connect: Duration
    /// For the whole transfer, including connecting and any followed redirects.
    public var total: Duration
    /// Abort when the transfer is slower than a minimum rate for a while (a stalled stream).
    public var stallGuard: StallGuard?

    public init(
        connect: Duration = .seconds(10),
        total: Duration = .seconds(30),
        stallGuard: StallGuard? = nil
    ) {
        self.connect = connect
        self.total = total
        self.stallGuard = stallGuard
    }
}

/// Fails a transfer with `HTTPError.Kind.timeout` when it moves fewer than
/// `minimumBytesPerSecond` on average over `window`. libcurl counts in whole seconds, so `window`
/// is rounded up to a whole second.
public struct StallGuard: Sendable, Equatable {
    public var minimumBytesPerSecond: Int
    public var window: Duration

    public init(minimumBytesPerSecond: Int, window: Duration) {
        self.minimumBytesPerSecond = minimumBytesPerSecond
        self.window = window
    }
}

/// Whether 3xx responses are followed.
public enum RedirectPolicy: Sendable, Equatable {
    /// Return the 3xx response (with its `Location` header) to the caller.
    case doNotFollow
    /// Follow up to `limit` redirects; one more fails with `HTTPError.Kind.protocol`. A redirect
    /// from https never goes to plain http.
    case follow(limit: Int)
}

/// Which TLS versions a request accepts: a responsiveness probe that counts the handshake's round
/// trips must know which version it got, so it asks for one.
public enum TLSVersions: Sendable, Equatable {
    /// libcurl's default: TLS 1.2 or 1.3, whatever the server prefers.
    case any
    /// TLS 1.3 only: one round trip to a full handshake.
    case only13
    /// TLS 1.2 at most: two round trips.
    case upTo12
}
