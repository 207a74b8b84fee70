import Glibc

/// Serves one accepted connection on its own thread until either side closes it: reads each
/// request, lets a fault knob or the request's route answer it, and writes the answer.
final class Connection {
    /// Whether the connection serves another request.
    enum Outcome { case keepOpen, close }

    private let socket: Socket
    private let clientIP: String
    private let configuration: TargetConfiguration
    private let links: Links
    private let statistics: TargetStatistics
    private let reader: RequestReader
    private let writer: ResponseWriter

    init(
        fd: Int32, clientIP: String, configuration: TargetConfiguration, links: Links, statistics: TargetStatistics
    ) {
        let socket = Socket(fd: fd)
        self.socket = socket
        self.clientIP = clientIP
        self.configuration = configuration
        self.links = links
        self.statistics = statistics
        reader = RequestReader(
            socket: socket, maximumHeadBytes: configuration.maximumHeadBytes, links: links, statistics: statistics)
        writer = ResponseWriter(socket: socket, configuration: configuration, links: links, statistics: statistics)
    }

    func serve() {
        defer { close(socket.fd) }
        while true {
            guard let head = reader.readHead() else { return }
            switch head {
            case .tooLarge:
                let message = "request head larger than \(configuration.maximumHeadBytes) bytes"
                _ = writer.write(.error(431, message), keepAlive: false)
                return
            case .malformed:
                _ = writer.write(.error(400, "malformed request"), keepAlive: false)
                return
            case .tls:
                // A TLS client on this plain port: answer at once, so it fails its handshake
                // instead of waiting for a request head that never comes.
                _ = writer.write(.error(400, "this is a plain HTTP port; use http://"), keepAlive: false)
                return
            case .request(let request):
                statistics.countRequest()
                if handle(request) == .close { return }
            }
        }
    }

    private func handle(_ request: Request) -> Outcome {
        let received = ContinuousClock.now
        switch reader.readBody(of: request) {
        case .ok: break
        case .malformed:
            return writer.write(.error(400, "invalid Content-Length or Transfer-Encoding"), keepAlive: false)
        case .unsupported:
            return writer.write(.error(501, "only chunked transfer coding is supported"), keepAlive: false)
        case .cutShort: return .close
        }
        let bodyBytes = reader.bodyBytes
        let exchange = Exchange(
            request: request, peerIP: clientIP, configuration: configuration, received: received,
            bodyBytes: bodyBytes, queueWait: links.probeDelay(bodyBytes: bodyBytes),
            tcp: TCPRoundTrip(socket: socket.fd))
        let response = configuration.injectedFailure ?? exchange.answer()
        return writer.write(response, keepAlive: request.wantsKeepAlive, isHead: request.method == "HEAD")
    }
}
