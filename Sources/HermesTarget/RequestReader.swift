import HermesCore

/// Reads the request heads and bodies of one connection. Its buffer keeps what a client sent
/// ahead of the current read (a pipelined request, the start of a body) for the next one.
final class RequestReader {
    /// What came where a request head was expected.
    enum Head {
        case request(Request)
        case tooLarge
        case malformed
        /// The bytes start like a TLS handshake record.
        case tls
    }

    /// How reading a body ended; after anything but `ok` the connection cannot be reused.
    enum Body { case ok, malformed, unsupported, cutShort }

    private let socket: Socket
    private let maximumHeadBytes: Int
    private let links: Links
    private let statistics: TargetStatistics
    /// Body bytes of the request read last (after de-chunking). Counted here, not as a difference
    /// of the server's statistics, which other connections' uploads move at the same time.
    private(set) var bodyBytes: Int64 = 0
    private var buffer: [UInt8]
    /// The bytes read but not yet used are `buffer[start..<end]`.
    private var start = 0
    private var end = 0

    init(socket: Socket, maximumHeadBytes: Int, links: Links, statistics: TargetStatistics) {
        self.socket = socket
        self.maximumHeadBytes = maximumHeadBytes
        self.links = links
        self.statistics = statistics
        // The largest head accepted must fit whole, with the empty line that ends it.
        buffer = [UInt8](repeating: 0, count: max(64 * 1024, maximumHeadBytes + 4))
    }

    /// The next request head, or nil when the client closed the connection between requests.
    func readHead() -> Head? {
        while true {
            if end > start && buffer[start] == 0x16 { return .tls }
            var index = start
            while index + 3 < end {
                if buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13
                    && buffer[index + 3] == 10
                {
                    if index - start > maximumHeadBytes { return .tooLarge }
                    let head = buffer[start..<index]
                    start = index + 4
                    return Request.parse(head).map(Head.request) ?? .malformed
                }
                index += 1
            }
            if end - start >= maximumHeadBytes { return .tooLarge }
            guard fill() else { return end > start ? .malformed : nil }
        }
    }

    /// Reads and discards the request body, whatever the endpoint, so the connection is ready
    /// for the next request; `bodyBytes` and the statistics count its bytes.
    func readBody(of request: Request) -> Body {
        bodyBytes = 0
        let transferEncoding = request.header("transfer-encoding")?.lowercased()
        let contentLength = request.header("content-length")
        if transferEncoding != nil && contentLength != nil { return .malformed }
        if let transferEncoding {
            guard transferEncoding == "chunked" else { return .unsupported }
            continueIfExpected(request)
            links.startUp()
            defer { links.finishUp() }
            return discardChunkedBody() ? .ok : .cutShort
        }
        if let contentLength {
            guard let length = Int64(contentLength), length >= 0 else { return .malformed }
            if length > 0 {
                continueIfExpected(request)
                links.startUp()
            }
            defer { if length > 0 { links.finishUp() } }
            return discardBody(length: length) ? .ok : .cutShort
        }
        return .ok
    }

    /// A client that sent `Expect: 100-continue` may wait for this before it sends the body.
    private func continueIfExpected(_ request: Request) {
        if request.header("expect")?.lowercased() == "100-continue" {
            _ = socket.writeAll(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
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
        let count = buffer.withUnsafeMutableBytes { socket.receive(into: $0.baseAddress! + end, count: $0.count - end) }
        guard count > 0 else { return false }
        end += count
        return true
    }

    /// Reads and discards up to `limit` body bytes, as fast as the up link lets them in; the count
    /// read, or nil on EOF or error.
    private func discard(upTo limit: Int64) -> Int? {
        if start == end { guard fill() else { return nil } }
        let count = links.grantUp(min(Int(clamping: limit), end - start))
        start += count
        bodyBytes += Int64(count)
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
}
