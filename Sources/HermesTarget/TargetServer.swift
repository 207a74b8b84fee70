import Glibc
import HermesCore

/// Why the server could not start.
public struct TargetError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The speed-test endpoint server: a listening socket and a thread per connection.
public final class TargetServer: Sendable {
    public let configuration: TargetConfiguration
    /// The port actually bound (differs from the configuration's when that was 0).
    public let port: UInt16
    public let statistics = TargetStatistics()
    private let listener: Int32
    private let links: Links

    /// Binds and listens; connections are accepted once `run` or `start` is called.
    public init(configuration: TargetConfiguration) throws(TargetError) {
        self.configuration = configuration
        links = Links(configuration: configuration)
        let isIPv6 = configuration.host.contains(":")
        let family = isIPv6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TargetError(message: "cannot create a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if let upRate = configuration.upBytesPerSecond {
            // A paced reader behind a multi-megabyte receive buffer would let a client's data sit
            // in our kernel for seconds, where a real link keeps it in the sender's queue; and
            // what sits here counts as delivered to the client, so changes in it read as rate.
            // Keep 20 ms of the link's traffic per connection (with the usual 4 to 16 streams,
            // together about the 100 ms Link may catch up on); accepted sockets inherit it.
            var size = Int32(min(max(upRate * 0.02, 64 * 1024), 4 * 1_048_576))
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if isIPv6 {
            // [::] serves IPv6 alone, so that 0.0.0.0 on the same port can be a --listen of its own.
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var storage = sockaddr_storage()
        let parsed = withUnsafeMutablePointer(to: &storage) { pointer -> Bool in
            if isIPv6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    address.pointee.sin6_family = sa_family_t(AF_INET6)
                    address.pointee.sin6_port = configuration.port.bigEndian
                    return inet_pton(AF_INET6, configuration.host, &address.pointee.sin6_addr) == 1
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                address.pointee.sin_family = sa_family_t(AF_INET)
                address.pointee.sin_port = configuration.port.bigEndian
                return inet_pton(AF_INET, configuration.host, &address.pointee.sin_addr) == 1
            }
        }
        guard parsed else {
            close(fd)
            throw TargetError(message: "not a numeric IPv4 or IPv6 address: \(configuration.host)")
        }
        let size = socklen_t(isIPv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) }
        }
        guard bound == 0, listen(fd, 512) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw TargetError(message: "cannot listen on \(configuration.host):\(configuration.port): \(reason)")
        }
        var actual = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        // sin_port and sin6_port sit at the same offset.
        port = withUnsafePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        listener = fd
    }

    /// `ADDR:PORT` as bound (`[ADDR]:PORT` for IPv6).
    public var address: String {
        configuration.host.contains(":") ? "[\(configuration.host)]:\(port)" : "\(configuration.host):\(port)"
    }

    /// Accepts connections until `stop` is called, each served on its own thread.
    public func run() {
        while true {
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listener, $0, &length)
                }
            }
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE {
                    if errno == EMFILE || errno == ENFILE { usleep(10_000) }
                    continue
                }
                return
            }
            statistics.countConnection()
            guard statistics.open(limit: configuration.maxConnections) else {
                // Each connection is a thread and a buffer: past the limit, say so and close.
                refuse(fd)
                continue
            }
            let clientIP = Self.numericAddress(of: &peer)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            configure(fd)
            let configuration = configuration
            let statistics = statistics
            let links = links
            let thread = BackgroundThread {
                Connection(
                    fd: fd, clientIP: clientIP, configuration: configuration, links: links, statistics: statistics
                ).serve()
                statistics.close()
            }
            if let thread {
                thread.detach()
            } else {
                statistics.close()
                refuse(fd)
            }
        }
    }

    /// Runs `run` on a background thread.
    public func start() {
        BackgroundThread { [self] in run() }?.detach()
    }

    /// Stops accepting; connections already open finish on their own.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    deinit { close(listener) }

    /// The peer's address as text: `192.0.2.1`, `2001:db8::1`, or an IPv4-mapped address as IPv4.
    private static func numericAddress(of peer: inout sockaddr_storage) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        withUnsafePointer(to: &peer) { pointer in
            if Int32(pointer.pointee.ss_family) == AF_INET6 {
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var bytes = address.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &bytes, &text, socklen_t(text.count))
                }
            } else {
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var bytes = address.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &bytes, &text, socklen_t(text.count))
                }
            }
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func configure(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let (seconds, attoseconds) = configuration.idleTimeout.components
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
}

extension TargetServer {
    /// A server on 127.0.0.1 and a free port, configured by `configure`, serving in the
    /// background: what tests and benchmarks measure against.
    public static func startOnLoopback(
        _ configure: (inout TargetConfiguration) -> Void = { _ in }
    ) throws(TargetError) -> TargetServer {
        var configuration = TargetConfiguration(port: 0)
        configure(&configuration)
        let server = try TargetServer(configuration: configuration)
        server.start()
        return server
    }

    /// `http://ADDR:PORT`.
    public var baseURL: String { "http://\(address)" }
}
