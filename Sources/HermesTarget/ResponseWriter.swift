import HermesCore

/// An answer as a route or a fault knob gives it; `ResponseWriter` frames it on the wire.
struct Response {
    enum Body {
        case bytes([UInt8])
        /// This many bytes cut from `RandomPayload.shared`, never built per request.
        case random(Int)

        var count: Int {
            switch self {
            case .bytes(let bytes): bytes.count
            case .random(let count): count
            }
        }
    }

    var status: Int
    var contentType: String
    var body: Body
    /// Written after the headers every response has, in this order.
    var headers: [(String, String)]
    /// Waited before the first byte, on top of `--delay` (see `Links.probeDelay`).
    var queueWait: Duration
    /// Refusals and injected failures have always sent their text even to HEAD; kept so.
    var sendsBodyToHead = false

    init(
        status: Int = 200, contentType: String, body: Body, headers: [(String, String)] = [],
        queueWait: Duration = .zero
    ) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
        self.queueWait = queueWait
    }

    /// A refusal or an injected failure, which says why in a line of text.
    static func error(_ status: Int, _ message: String, headers: [(String, String)] = []) -> Response {
        var response = Response(
            status: status, contentType: "text/plain", body: .bytes(Array((message + "\n").utf8)), headers: headers)
        response.sendsBodyToHead = true
        return response
    }

    static func json(_ json: JSONWriter) -> Response {
        Response(contentType: "application/json", body: .bytes(json.bytes))
    }

    static func text(_ text: String) -> Response {
        Response(contentType: "text/plain", body: .bytes(Array(text.utf8)))
    }
}

/// Writes the responses of one connection: the head, then the body, paced by the down link and
/// cut short where `--stall-after` or `--close-after` says.
struct ResponseWriter {
    private let socket: Socket
    private let configuration: TargetConfiguration
    private let links: Links
    private let statistics: TargetStatistics

    init(socket: Socket, configuration: TargetConfiguration, links: Links, statistics: TargetStatistics) {
        self.socket = socket
        self.configuration = configuration
        self.links = links
        self.statistics = statistics
    }

    /// Sends `response` with `Connection: keep-alive` or `close`, and its body unless it answers
    /// HEAD; whether the connection may serve another request.
    func write(_ response: Response, keepAlive: Bool, isHead: Bool = false) -> Connection.Outcome {
        // `--delay` and the wait behind queued traffic in one sleep, so the two add up exactly.
        let delay = configuration.responseDelay + response.queueWait
        if delay > .zero { sleepPrecisely(delay) }
        guard socket.writeAll(head(of: response, keepAlive: keepAlive)) else { return .close }
        if !isHead || response.sendsBodyToHead {
            guard sendBody(response.body) else { return .close }
        }
        return keepAlive ? .keepOpen : .close
    }

    private func head(of response: Response, keepAlive: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(response.status) \(reasonPhrase(response.status))\r\n"
        head += "Server: hermes-target\r\nContent-Type: \(response.contentType)\r\n"
        head += "Content-Length: \(response.body.count)\r\n"
        head += "Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\nPragma: no-cache\r\n"
        head += "Access-Control-Allow-Origin: *\r\n"
        head += "Connection: \(keepAlive ? "keep-alive" : "close")\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return Array(head.utf8)
    }

    /// Sends the body up to its cutoff; false when the connection must close.
    private func sendBody(_ body: Response.Body) -> Bool {
        let cutoff = BodyCutoff(total: Int64(body.count), configuration: configuration)
        var sent: Int64 = 0
        if cutoff.limit > 0 { links.startDown() }
        while sent < cutoff.limit {
            let count = links.grantDown(Int(min(cutoff.limit - sent, 256 * 1024)))
            let written: Int
            switch body {
            case .bytes(let bytes):
                written = bytes.withUnsafeBytes { socket.write(from: $0.baseAddress! + Int(sent), count: count) }
            case .random:
                let source = RandomPayload.shared.bytes(from: sent)
                written = socket.write(from: source.baseAddress!, count: min(count, source.count))
            }
            guard written > 0 else { return false }
            statistics.countSent(written)
            sent += Int64(written)
        }
        return cutoff.finish(on: socket)
    }
}

private func reasonPhrase(_ status: Int) -> String {
    switch status {
    case 100: "Continue"
    case 200: "OK"
    case 400: "Bad Request"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 413: "Content Too Large"
    case 429: "Too Many Requests"
    case 431: "Request Header Fields Too Large"
    case 500: "Internal Server Error"
    case 501: "Not Implemented"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    case 504: "Gateway Timeout"
    default: "Status"
    }
}
