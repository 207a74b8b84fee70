import HermesCore

#if canImport(Glibc)
    import Glibc
#endif

/// Serves one accepted connection on its own thread until either side closes it.
final class Connection {
    private let fd: Int32
    private let clientIP: String
    private let configuration: TargetConfiguration
    private let statistics: TargetStatistics
    private let payload = RandomPayload.shared
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private let links: Links

    /// Why the connection loop stops.
    enum Outcome { case keepOpen, close }

    init(
        fd: Int32, clientIP: String, configuration: TargetConfiguration, links: Links, statistics: TargetStatistics
    ) {
        self.fd = fd
        self.clientIP = clientIP
        self.configuration = configuration
        self.statistics = statistics
        buffer = [UInt8](repeating: 0, count: max(64 * 1024, configuration.maximumHeadBytes + 4))
        self.links = links
    }

    func serve() {
        defer { close(fd) }
        while true {
            guard let head = readHead() else { return }
            switch head {
            case .tooLarge:
                _ = respondError(431, "request head larger than \(configuration.maximumHeadBytes) bytes", close: true)
                return
            case .malformed:
                _ = respondError(400, "malformed request", close: true)
                return
            case .tls:
                // A TLS client on this plain port: answer at once, so it fails its handshake
                // instead of waiting for a request head that never comes.
                _ = respondError(400, "this is a plain HTTP port; use http://", close: true)
                return
            case .request(let request):
                statistics.countRequest()
                if handle(request) == .close { return }
            }
        }
    }

    // MARK: Reading

    private enum Head {
        case request(Request)
        case tooLarge
        case malformed
        /// The bytes start like a TLS handshake record.
        case tls
    }

    /// Reads more bytes after `end`, moving unread bytes to the front first. False on EOF or error.
    private func fill() -> Bool {
        if start > 0 {
            if start < end {
                buffer.withUnsafeMutableBufferPointer {
                    $0.baseAddress!.update(from: $0.baseAddress! + start, count: end - start)
                }
            }
            end -= start
            start = 0
        }
        guard end < buffer.count else { return false }
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + end, $0.count - end, 0) }
            if count > 0 {
                end += count
                return true
            }
            if count < 0 && errno == EINTR { continue }
            return false
        }
    }

    /// The next request head, or nil when the client closed the connection between requests.
    private func readHead() -> Head? {
        while true {
            if end > start && buffer[start] == 0x16 { return .tls }
            var index = start
            while index + 3 < end {
                if buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13
                    && buffer[index + 3] == 10
                {
                    if index - start > configuration.maximumHeadBytes { return .tooLarge }
                    let head = buffer[start..<index]
                    start = index + 4
                    return Request.parse(head).map(Head.request) ?? .malformed
                }
                index += 1
            }
            if end - start >= configuration.maximumHeadBytes { return .tooLarge }
            guard fill() else { return end > start ? .malformed : nil }
        }
    }

    /// Reads and discards up to `limit` body bytes; the count read, or nil on EOF or error.
    private func discard(upTo limit: Int64) -> Int? {
        if start == end { guard fill() else { return nil } }
        var count = min(Int(clamping: limit), end - start)
        if let link = links.up { count = link.grant(count) }
        start += count
        statistics.countReceived(count)
        return count
    }

    private func discardBody(length: Int64) -> Bool {
        var remaining = length
        while remaining > 0 {
            guard let count = discard(upTo: remaining) else { return false }
            remaining -= Int64(count)
        }
        return true
    }

    /// A CRLF-terminated line of at most 4 KiB, without the CRLF.
    private func readLine() -> String? {
        while true {
            if let index = buffer[start..<end].firstIndex(of: 10) {
                var lineEnd = index
                if lineEnd > start && buffer[lineEnd - 1] == 13 { lineEnd -= 1 }
                let line = String(decoding: buffer[start..<lineEnd], as: UTF8.self)
                start = index + 1
                return line
            }
            if end - start > 4096 { return nil }
            guard fill() else { return nil }
        }
    }

    /// Discards a chunked body and its trailers. False when it is malformed or cut short.
    private func discardChunkedBody() -> Bool {
        while true {
            guard let line = readLine() else { return false }
            let sizeText = line.split(separator: ";", maxSplits: 1).first.map { $0.trimming() } ?? ""
            guard !sizeText.isEmpty, sizeText.count <= 15, let size = Int64(sizeText, radix: 16) else { return false }
            if size == 0 {
                while true {
                    guard let trailer = readLine() else { return false }
                    if trailer.isEmpty { return true }
                }
            }
            guard discardBody(length: size), let empty = readLine(), empty.isEmpty else { return false }
        }
    }

    /// Reads the request body, whatever the endpoint. False when the connection cannot be reused.
    private enum BodyResult { case ok, malformed, unsupported, cutShort }

    private func readBody(of request: Request) -> BodyResult {
        let transferEncoding = request.header("transfer-encoding")?.lowercased()
        let contentLength = request.header("content-length")
        if transferEncoding != nil && contentLength != nil { return .malformed }
        if let transferEncoding {
            guard transferEncoding == "chunked" else { return .unsupported }
            continueIfExpected(request)
            return discardChunkedBody() ? .ok : .cutShort
        }
        if let contentLength {
            guard let length = Int64(contentLength), length >= 0 else { return .malformed }
            if length > 0 { continueIfExpected(request) }
            return discardBody(length: length) ? .ok : .cutShort
        }
        return .ok
    }

    private func continueIfExpected(_ request: Request) {
        if request.header("expect")?.lowercased() == "100-continue" {
            _ = writeAll(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
    }

    // MARK: Handling

    private func handle(_ request: Request) -> Outcome {
        let received = ContinuousClock.now
        let before = statistics.bodyBytesReceived
        switch readBody(of: request) {
        case .ok: break
        case .malformed: return respondError(400, "invalid Content-Length or Transfer-Encoding", close: true)
        case .unsupported: return respondError(501, "only chunked transfer coding is supported", close: true)
        case .cutShort: return .close
        }
        let bodyBytes = statistics.bodyBytesReceived - before
        let keepAlive = request.wantsKeepAlive
        // A request without a body waits behind the traffic queued in the simulated link.
        let queueWait = bodyBytes == 0 ? links.queueDelay : .zero
        if let status = configuration.failStatus {
            return respondError(status, "injected failure (--fail-status)", close: !keepAlive)
        }
        if let seconds = configuration.rateLimitRetryAfter {
            return respondError(
                429, "rate limited (--rate-limit)", close: !keepAlive, extra: [("Retry-After", "\(seconds)")])
        }
        let route = Route(path: request.path)
        guard let route else { return respondError(404, "no such endpoint: \(request.path)", close: !keepAlive) }
        guard route.methods.contains(request.method) else {
            return respondError(
                405, "\(request.method) is not allowed here", close: !keepAlive,
                extra: [("Allow", route.methods.joined(separator: ", "))])
        }
        let isHead = request.method == "HEAD"
        switch route {
        case .down:
            guard let bytes = integer(request.query["bytes"], default: 0), bytes >= 0 else {
                return respondError(400, "bytes must be a whole number of 0 or more", close: !keepAlive)
            }
            let elapsed = ContinuousClock.now - received
            let microseconds =
                elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
            let serverTime = "\(microseconds / 1000).\(String(microseconds % 1000 + 1000).dropFirst())"
            return respond(
                200, contentType: "application/octet-stream", body: .random(bytes), keepAlive: keepAlive,
                isHead: isHead, queueWait: bytes == 0 ? queueWait : .zero,
                extra: [("Server-Timing", "cfRequestDuration;dur=\(serverTime)")])
        case .garbage:
            guard let chunks = integer(request.query["ckSize"], default: 4), chunks >= 0 else {
                return respondError(400, "ckSize must be a whole number of 0 or more", close: !keepAlive)
            }
            return respond(
                200, contentType: "application/octet-stream", body: .random(min(chunks, 1024) * 1_048_576),
                keepAlive: keepAlive, isHead: isHead,
                extra: [
                    ("Content-Description", "File Transfer"),
                    ("Content-Disposition", "attachment; filename=random.dat"),
                ])
        case .up, .empty:
            return respond(
                200, contentType: "text/plain", body: .bytes([]), keepAlive: keepAlive, isHead: isHead,
                queueWait: queueWait, extra: [("X-Hermes-Received-Bytes", "\(bodyBytes)")])
        case .getIP:
            let ispInfo =
                request.query["isp"] == "true"
                ? "{\"ip\":\(jsonString(clientIP)),\"hostname\":\"\",\"city\":\(jsonString(configuration.city)),"
                    + "\"region\":\"\",\"country\":\(jsonString(configuration.country)),\"loc\":\"\","
                    + "\"org\":\"hermes-target\",\"postal\":\"\",\"timezone\":\"\"}"
                : "\"\""
            let processed =
                request.query["isp"] == "true"
                ? "\(clientIP) - hermes-target, \(configuration.country)" : clientIP
            return respondJSON(
                "{\"processedString\":\(jsonString(processed)),\"rawIspInfo\":\(ispInfo)}", keepAlive: keepAlive,
                isHead: isHead)
        case .meta:
            return respondJSON(
                "{\"clientIp\":\(jsonString(clientIP)),\"asn\":0,\"asOrganization\":\"hermes-target\","
                    + "\"colo\":\(jsonString(configuration.colo)),\"city\":\(jsonString(configuration.city)),"
                    + "\"country\":\(jsonString(configuration.country)),\"hostname\":\(jsonString(host(of: request)))}",
                keepAlive: keepAlive, isHead: isHead)
        case .trace:
            let text =
                "fl=hermes\nh=\(host(of: request))\nip=\(clientIP)\nts=\(time(nil))\nvisit_scheme=http\n"
                + "uag=\(request.header("user-agent") ?? "")\ncolo=\(configuration.colo)\nhttp=http/1.1\n"
                + "loc=\(configuration.country)\ntls=off\nsni=off\nwarp=off\ngateway=off\n"
            return respond(
                200, contentType: "text/plain", body: .bytes(Array(text.utf8)), keepAlive: keepAlive, isHead: isHead)
        case .servers:
            let base = "http://\(host(of: request))/"
            let name = "hermes-target (\(configuration.city), \(configuration.colo))"
            return respondJSON(
                "[{\"id\":1,\"name\":\(jsonString(name)),\"server\":\(jsonString(base)),\"dlURL\":\"garbage\","
                    + "\"ulURL\":\"empty\",\"pingURL\":\"empty\",\"getIpURL\":\"getIP\","
                    + "\"sponsorName\":\"hermes-target\",\"sponsorURL\":\"\"}]",
                keepAlive: keepAlive, isHead: isHead)
        }
    }

    private func host(of request: Request) -> String {
        request.header("host") ?? "\(configuration.host):\(configuration.port)"
    }

    private func integer(_ text: String?, default value: Int) -> Int? {
        guard let text else { return value }
        return Int(text)
    }

    // MARK: Writing

    private enum Body {
        case bytes([UInt8])
        case random(Int)
        var count: Int {
            switch self {
            case .bytes(let bytes): bytes.count
            case .random(let count): count
            }
        }
    }

    private func respondJSON(_ json: String, keepAlive: Bool, isHead: Bool) -> Outcome {
        respond(
            200, contentType: "application/json", body: .bytes(Array(json.utf8)), keepAlive: keepAlive, isHead: isHead)
    }

    private func respondError(
        _ status: Int, _ message: String, close: Bool, extra: [(String, String)] = []
    ) -> Outcome {
        respond(
            status, contentType: "text/plain", body: .bytes(Array((message + "\n").utf8)), keepAlive: !close,
            isHead: false, extra: extra)
    }

    private func respond(
        _ status: Int, contentType: String, body: Body, keepAlive: Bool, isHead: Bool, queueWait: Duration = .zero,
        extra: [(String, String)] = []
    ) -> Outcome {
        let delay = configuration.responseDelay + queueWait
        if delay > .zero { sleepPrecisely(delay) }
        var head = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        head += "Server: hermes-target\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        head += "Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\nPragma: no-cache\r\n"
        head += "Access-Control-Allow-Origin: *\r\n"
        head += "Connection: \(keepAlive ? "keep-alive" : "close")\r\n"
        for (name, value) in extra { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        guard writeAll(Array(head.utf8)) else { return .close }
        if !isHead {
            switch sendBody(body) {
            case .keepOpen: break
            case .close: return .close
            }
        }
        return keepAlive ? .keepOpen : .close
    }

    /// Sends the body, honouring pacing, `--stall-after` and `--close-after`.
    private func sendBody(_ body: Body) -> Outcome {
        let total = Int64(body.count)
        var limit = total
        var fault: Outcome? = nil
        if let stall = configuration.stallAfter, stall < limit {
            limit = stall
            fault = .keepOpen
        }
        if let closeAt = configuration.closeAfter, closeAt < limit {
            limit = closeAt
            fault = .close
        }
        var sent: Int64 = 0
        while sent < limit {
            var count = Int(min(limit - sent, 256 * 1024))
            if let link = links.down { count = link.grant(count) }
            let written: Int
            switch body {
            case .bytes(let bytes):
                written = bytes.withUnsafeBytes { write(from: $0.baseAddress! + Int(sent), count: count) }
            case .random:
                let source = payload.bytes(from: sent)
                written = write(from: source.baseAddress!, count: min(count, source.count))
            }
            guard written > 0 else { return .close }
            statistics.countSent(written)
            sent += Int64(written)
        }
        switch fault {
        case nil: return .keepOpen
        case .close?: return .close
        case .keepOpen?:
            stall()
            return .close
        }
    }

    /// Keeps the connection open without sending, until the client gives up and closes it.
    private func stall() {
        var scratch = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count > 0 { continue }
            if count < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) { continue }
            return
        }
    }

    /// One send(2) call; the bytes written, or 0 on error.
    private func write(from pointer: UnsafeRawPointer, count: Int) -> Int {
        while true {
            let written = send(fd, pointer, count, Int32(MSG_NOSIGNAL))
            if written >= 0 { return written }
            if errno == EINTR { continue }
            return 0
        }
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(from: $0.baseAddress! + offset, count: $0.count - offset) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}

func reasonPhrase(_ status: Int) -> String {
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

/// The endpoints. LibreSpeed paths are accepted with and without `.php` and under `/backend/`.
enum Route {
    case down, up, meta, trace, garbage, empty, getIP, servers

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
        default: return nil
        }
    }

    var methods: [String] {
        switch self {
        case .up: ["POST", "PUT"]
        case .empty: ["GET", "HEAD", "POST", "PUT"]
        default: ["GET", "HEAD"]
        }
    }
}
