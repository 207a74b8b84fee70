import CCurl

/// The per-transfer state that libcurl's callbacks read and write. libcurl calls them on the
/// thread that drives the transfer, one at a time, so no locking is needed; the owning
/// `EasyHandle` keeps this object alive for as long as libcurl holds a pointer to it.
final class TransferContext {
    let request: HTTPRequest

    private(set) var reason = ""
    private(set) var headers = HTTPHeaders()
    private(set) var body: [UInt8] = []
    private var headerBytesOfCurrentResponse = 0
    private var bodyOffset: Int64 = 0

    /// Why a callback stopped the transfer; libcurl only reports that one did.
    private(set) var stopReason: (kind: HTTPError.Kind, detail: String)?

    /// curl's own per-line limit is 100 KiB; this bounds the sum so a server cannot make us
    /// collect an unbounded number of lines.
    static let maximumHeaderBytes = 256 * 1024

    init(request: HTTPRequest) {
        self.request = request
    }

    var unmanagedPointer: UnsafeMutableRawPointer {
        Unmanaged.passUnretained(self).toOpaque()
    }

    static func from(_ pointer: UnsafeMutableRawPointer) -> TransferContext {
        Unmanaged<TransferContext>.fromOpaque(pointer).takeUnretainedValue()
    }

    func receiveBody(_ chunk: UnsafeRawBufferPointer) -> Bool {
        switch request.responseBody {
        case .collect(let limit):
            guard chunk.count <= limit - body.count else {
                stopReason = (.protocol, "the response body is larger than the \(limit)-byte limit")
                return false
            }
            body.append(contentsOf: chunk)
        case .stream(let sink):
            guard sink(chunk) == .proceed else {
                stopReason = (.aborted, "the response body sink stopped the transfer")
                return false
            }
        case .discard:
            break
        }
        return true
    }

    /// Receives one header line, CRLF included. A status line starts a new response (after a
    /// followed redirect or a `100 Continue`), so only the final response's headers are kept.
    func receiveHeaderLine(_ line: UnsafeRawBufferPointer) -> Bool {
        headerBytesOfCurrentResponse += line.count
        guard headerBytesOfCurrentResponse <= Self.maximumHeaderBytes else {
            stopReason = (.protocol, "the response headers exceed \(Self.maximumHeaderBytes) bytes")
            return false
        }
        // Trimmed as bytes: in a Swift String "\r\n" is one Character, which makes
        // character-wise trimming easy to get wrong.
        var end = line.count
        while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D {
            end -= 1
        }
        let content = Substring(
            String(decoding: UnsafeRawBufferPointer(rebasing: line[..<end]), as: UTF8.self))
        if content.hasPrefix("HTTP/") {
            startResponse(statusLine: content)
        } else if content.first == " " || content.first == "\t" {
            appendContinuation(content)
        } else if let colon = content.firstIndex(of: ":") {
            let name = String(content[..<colon])
            let value = content[content.index(after: colon)...].trimmingOptionalWhitespace()
            headers.add(name: name, value: value)
        }
        return true
    }

    private func startResponse(statusLine: Substring) {
        headers = HTTPHeaders()
        headerBytesOfCurrentResponse = 0
        // The status code itself comes from CURLINFO_RESPONSE_CODE; only the phrase is kept.
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        reason = parts.count > 2 ? String(parts[2]) : ""
    }

    /// Obsolete line folding: a line starting with whitespace continues the previous value.
    private func appendContinuation(_ content: Substring) {
        guard let last = headers.fields.last else { return }
        var fields = headers.fields
        fields[fields.count - 1].value = last.value + " " + content.trimmingOptionalWhitespace()
        headers = HTTPHeaders(fields)
    }

    /// Fills `buffer` with the next part of the request body; returns the byte count, 0 at the
    /// end, or `CURL_READFUNC_ABORT`.
    func produceBody(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        switch request.body {
        case .empty:
            return 0
        case .bytes(let bytes):
            let start = Int(clamping: bodyOffset)
            let count = min(buffer.count, max(0, bytes.count - start))
            if count > 0 {
                bytes.withUnsafeBytes { source in
                    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<start + count]))
                }
            }
            bodyOffset += Int64(count)
            return count
        case .stream(let length, let source):
            return produceStreamedBody(into: buffer, length: length, source: source)
        }
    }

    private func produceStreamedBody(
        into buffer: UnsafeMutableRawBufferPointer,
        length: Int64?,
        source: (Int64, UnsafeMutableRawBufferPointer) -> BodySourceStep
    ) -> Int {
        var window = buffer
        if let length {
            let remaining = length - bodyOffset
            guard remaining > 0 else { return 0 }
            if remaining < Int64(buffer.count) {
                window = UnsafeMutableRawBufferPointer(rebasing: buffer[..<Int(remaining)])
            }
        }
        switch source(bodyOffset, window) {
        case .filled(let count) where count > 0 && count <= window.count:
            bodyOffset += Int64(count)
            return count
        case .filled(let count) where count < 0 || count > window.count:
            return abortUpload(
                .invalidRequest,
                "the body source reported \(count) bytes written into a \(window.count)-byte buffer"
            )
        case .filled, .end:
            if let length, bodyOffset < length {
                return abortUpload(
                    .invalidRequest,
                    "the body source ended after \(bodyOffset) of its declared \(length) bytes"
                )
            }
            return 0
        case .abort:
            return abortUpload(.aborted, "the request body source stopped the transfer")
        }
    }

    private func abortUpload(_ kind: HTTPError.Kind, _ detail: String) -> Int {
        stopReason = (kind, detail)
        return Int(CURL_READFUNC_ABORT)
    }

    /// libcurl rewinds the body when it must send it again: a retry on a kept-alive connection
    /// the server had closed, or a 307/308 redirect.
    func rewindBody(to offset: Int64) -> Bool {
        switch request.body {
        case .empty:
            return offset == 0
        case .bytes(let bytes):
            guard offset >= 0, offset <= Int64(bytes.count) else { return false }
        case .stream(let length, _):
            guard offset >= 0, offset <= length ?? Int64.max else { return false }
        }
        bodyOffset = offset
        return true
    }

    func shouldCancel() -> Bool {
        guard let isCancelled = request.isCancelled, isCancelled() else { return false }
        stopReason = (.aborted, "cancelled by the caller")
        return true
    }
}

extension Substring {
    fileprivate func trimmingOptionalWhitespace() -> String {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isWhitespace($0) }),
            let last = lastIndex(where: { !isWhitespace($0) })
        else { return "" }
        return String(self[first...last])
    }
}

/// The C entry points libcurl calls. Each is a non-capturing closure, so it converts to a C
/// function pointer; the transfer's context arrives as the user-data pointer.
enum CurlCallbacks {
    static let write: curl_write_callback = { data, size, count, userData in
        guard let userData, let chunk = bytes(data, size, count) else { return 0 }
        return TransferContext.from(userData).receiveBody(chunk) ? chunk.count : 0
    }

    static let header: curl_write_callback = { data, size, count, userData in
        guard let userData, let line = bytes(data, size, count) else { return 0 }
        return TransferContext.from(userData).receiveHeaderLine(line) ? line.count : 0
    }

    static let read: curl_read_callback = { data, size, count, userData in
        guard let userData, let data else { return Int(CURL_READFUNC_ABORT) }
        let (length, overflow) = size.multipliedReportingOverflow(by: count)
        guard !overflow else { return Int(CURL_READFUNC_ABORT) }
        let buffer = UnsafeMutableRawBufferPointer(start: data, count: length)
        return TransferContext.from(userData).produceBody(into: buffer)
    }

    static let seek: curl_seek_callback = { userData, offset, origin in
        guard let userData, origin == SEEK_SET,
            TransferContext.from(userData).rewindBody(to: Int64(offset))
        else { return CURL_SEEKFUNC_CANTSEEK }
        return CURL_SEEKFUNC_OK
    }

    /// Returning non-zero makes libcurl stop with CURLE_ABORTED_BY_CALLBACK.
    static let transferInfo: curl_xferinfo_callback = { userData, _, _, _, _ in
        guard let userData else { return 0 }
        return TransferContext.from(userData).shouldCancel() ? 1 : 0
    }

    /// libcurl passes `size` × `count` bytes; `size` is always 1, but the product is checked
    /// rather than trusted.
    private static func bytes(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int)
        -> UnsafeRawBufferPointer?
    {
        let (length, overflow) = size.multipliedReportingOverflow(by: count)
        guard !overflow else { return nil }
        return UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : length)
    }
}
