import CCurl
import Glibc
import HermesCore

/// One libcurl easy handle and everything libcurl points into while a transfer on it runs: the
/// context its callbacks use, its header lists and its error buffer. The single place where a
/// request's options become `curl_easy_setopt` calls and a finished transfer becomes a result.
final class EasyHandle {
    let raw: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var connectToList: UnsafeMutablePointer<curl_slist>?
    private var context: TransferContext?
    private var displayURL = ""
    private var socketDescriptor: Int32?
    private var socketNotFound: SocketPorts?

    init() throws(HTTPError) {
        try CurlLibrary.ensureInitialized()
        guard let raw = curl_easy_init() else {
            throw HTTPError(kind: .internal, message: "libcurl could not create a transfer handle")
        }
        self.raw = raw
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(raw)
        curl_slist_free_all(headerList)
        curl_slist_free_all(connectToList)
        errorBuffer.deallocate()
    }

    /// Clears whatever the previous request set (the connection cache survives, which is the
    /// point of reusing a handle) and configures the handle for `request`.
    func prepare(for request: HTTPRequest) throws(HTTPError) {
        curl_easy_reset(raw)
        curl_slist_free_all(headerList)
        headerList = nil
        curl_slist_free_all(connectToList)
        connectToList = nil
        errorBuffer[0] = 0
        displayURL = request.displayURL
        socketDescriptor = nil
        socketNotFound = nil

        let url = try ParsedURL(request.url, displayURL: displayURL)
        let context = TransferContext(request: request)
        self.context = context

        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try set(CURLOPT_URL, request.url)
        // libcurl would otherwise use SIGALRM for resolver timeouts, which is not thread-safe.
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_PROTOCOLS_STR, "http,https")
        try setRedirects(request.redirects, from: url)
        try setTimeouts(request.timeouts)
        try set(CURLOPT_SSL_VERIFYPEER, 1)
        try set(CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = request.caFile ?? request.route.caFile {
            // Instead of the system's store, not beside it: libcurl would also search the
            // directory it was built with (/etc/ssl/certs on Debian).
            try set(CURLOPT_CAINFO, caFile)
            try set(CURLOPT_CAPATH, pointer: nil)
        }
        try set(CURLOPT_BUFFERSIZE, request.receiveBufferSize)
        if request.sendsBody {
            try set(CURLOPT_UPLOAD_BUFFERSIZE, request.sendBufferSize)
        }
        if !request.userAgent.isEmpty {
            try set(CURLOPT_USERAGENT, request.userAgent)
        }
        if let address = request.pinnedAddress {
            // A redirect would leave the checked address for one nobody checked.
            if case .follow = request.redirects {
                throw HTTPError(
                    kind: .invalidRequest,
                    message: "\(displayURL): a request pinned to an address cannot follow redirects")
            }
            try pin(url, to: address)
            // A proxy from http_proxy/https_proxy/all_proxy would make the connection, to
            // wherever it likes: the checked address would be bypassed.
            try set(CURLOPT_NOPROXY, "*")
        }
        try setRoute(request.route)
        switch request.tlsVersions {
        case .any: break
        case .only13: try set(CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_3)
        case .upTo12:
            try set(
                CURLOPT_SSLVERSION,
                CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2)
        }
        if request.resetOnClose {
            try check(hermes_easy_set_reset_on_close(raw), "socket option function")
        }
        if request.newConnection {
            try set(CURLOPT_FRESH_CONNECT, 1)
            try set(CURLOPT_FORBID_REUSE, 1)
            // A resumed TLS session would save the handshake a probe is there to time.
            try set(CURLOPT_SSL_SESSIONID_CACHE, 0)
        }
        if request.multiplexesOnBusyConnection {
            try set(CURLOPT_PIPEWAIT, 1)
        }
        try setHeaders(request)
        try setMethodAndBody(request)
        try setResponseHandling(request.responseBody, context: context)
        if request.isCancelled != nil {
            try set(CURLOPT_NOPROGRESS, 0)
            try check(hermes_easy_set_xferinfo_function(raw, CurlCallbacks.transferInfo), "progress")
            try set(CURLOPT_XFERINFODATA, pointer: context.unmanagedPointer)
        }
    }

    /// The result of the transfer that just ended with `code`.
    func outcome(of code: CURLcode) -> Result<HTTPResponse, HTTPError> {
        guard let context else {
            return .failure(HTTPError(kind: .internal, message: "no request was prepared"))
        }
        if code != CURLE_OK, let stop = context.stopReason {
            return .failure(
                HTTPError(kind: stop.kind, displayURL: displayURL, detail: stop.detail, curlCode: code)
            )
        }
        guard code == CURLE_OK else { return .failure(error(for: code, request: context.request)) }
        return .success(
            HTTPResponse(
                status: longInfo(CURLINFO_RESPONSE_CODE),
                reason: context.reason,
                headers: context.headers,
                body: context.body,
                metrics: metrics(),
                displayURL: displayURL
            )
        )
    }

    /// Bytes moved so far; readable while the transfer runs.
    var byteCounts: ByteCounts {
        ByteCounts(
            received: offsetInfo(CURLINFO_SIZE_DOWNLOAD_T),
            sent: offsetInfo(CURLINFO_SIZE_UPLOAD_T),
            unacknowledged: unacknowledgedBytes,
            roundTripMicroseconds: roundTripMicroseconds
        )
    }

    /// The connection's smoothed round-trip time, for requests that ask for it.
    private var roundTripMicroseconds: Int64? {
        guard let context, context.request.reportsRoundTrip, let socket = connectionSocket() else { return nil }
        // A request that sends no body receives: the receiver's estimate follows the queue.
        let microseconds = hermes_socket_round_trip_us(socket, context.request.sendsBody ? 0 : 1)
        return microseconds > 0 ? Int64(microseconds) : nil
    }

    /// What the connection's socket still holds of what was written to it: the part of `sent`
    /// the peer has not received yet. Only asked of requests that send a body, so downloads,
    /// sampled every few milliseconds, cost no system calls for it.
    private var unacknowledgedBytes: Int64 {
        guard let context, context.request.sendsBody, let socket = connectionSocket() else { return 0 }
        return Int64(max(0, hermes_socket_unacknowledged_bytes(socket)))
    }

    /// The descriptor of the connection this transfer runs on. libcurl only names it once the
    /// transfer is over (`CURLINFO_ACTIVESOCKET`), so it is found by its ports among this
    /// process's sockets, once per transfer, and checked again on each use.
    private func connectionSocket() -> Int32? {
        let local = longInfo(CURLINFO_LOCAL_PORT)
        let remote = longInfo(CURLINFO_PRIMARY_PORT)
        guard local > 0 && remote > 0 else { return nil }
        if let known = socketDescriptor, SocketPorts(of: known) == SocketPorts(local: local, remote: remote) {
            return known
        }
        socketDescriptor = nil
        let wanted = SocketPorts(local: local, remote: remote)
        guard wanted != socketNotFound else { return nil }
        for descriptor in Int32(3)..<Int32(4096) where SocketPorts(of: descriptor) == wanted {
            socketDescriptor = descriptor
            return descriptor
        }
        // Not ours to see (another process's socket, or closed meanwhile): do not search again.
        socketNotFound = wanted
        return nil
    }

    func stoppedByCaller() -> HTTPError {
        HTTPError(kind: .aborted, displayURL: displayURL, detail: "cancelled by the caller")
    }

    // MARK: - Options

    private func setRedirects(_ policy: RedirectPolicy, from url: ParsedURL) throws(HTTPError) {
        guard case .follow(let limit) = policy else { return }
        try set(CURLOPT_FOLLOWLOCATION, 1)
        try set(CURLOPT_MAXREDIRS, max(0, limit))
        // A redirect must not silently drop TLS: an https request stays on https.
        try set(CURLOPT_REDIR_PROTOCOLS_STR, url.isHTTPS ? "https" : "http,https")
    }

    private func setTimeouts(_ timeouts: HTTPTimeouts) throws(HTTPError) {
        try set(CURLOPT_CONNECTTIMEOUT_MS, timeouts.connect.wholeMillisecondsRoundedUp)
        try set(CURLOPT_TIMEOUT_MS, timeouts.total.wholeMillisecondsRoundedUp)
        if let stallGuard = timeouts.stallGuard {
            try set(CURLOPT_LOW_SPEED_LIMIT, max(1, stallGuard.minimumBytesPerSecond))
            let seconds = (stallGuard.window.wholeMillisecondsRoundedUp + 999) / 1000
            try set(CURLOPT_LOW_SPEED_TIME, seconds)
        }
    }

    /// CURLOPT_CONNECT_TO rather than CURLOPT_RESOLVE: RESOLVE writes into the DNS cache that
    /// later requests on this handle (or every handle of a multi) share, and connection reuse
    /// matches on host name, so a pinned request could ride on a connection made to another
    /// address, and an unpinned one could inherit the pin. libcurl never mixes CONNECT_TO
    /// connections with ordinary ones, and the setting ends with the request.
    private func pin(_ url: ParsedURL, to address: String) throws(HTTPError) {
        guard let version = IPAddress.version(of: address) else {
            throw HTTPError(
                kind: .invalidRequest,
                displayURL: displayURL,
                detail: "pinned address \"\(address)\" is not a numeric IPv4 or IPv6 address"
            )
        }
        let target = version == 6 ? "[\(address)]" : address
        try append("\(url.host):\(url.port):\(target):\(url.port)", to: &connectToList)
        try set(CURLOPT_CONNECT_TO, list: connectToList)
    }

    private func setHeaders(_ request: HTTPRequest) throws(HTTPError) {
        for header in request.headers {
            guard header.name.isHTTPToken else {
                throw HTTPError(
                    kind: .invalidRequest,
                    displayURL: displayURL,
                    detail: "header name \"\(header.name)\" is not a valid token"
                )
            }
            guard !header.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw HTTPError(
                    kind: .invalidRequest,
                    displayURL: displayURL,
                    detail: "the value of header \(header.name) contains a line break"
                )
            }
            // "Name:" would tell libcurl to remove its own header; "Name;" sends an empty one.
            let line = header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)"
            try append(line, to: &headerList)
        }
        if request.sendsBody {
            // libcurl would add `Expect: 100-continue` to larger bodies and then wait up to a
            // second for servers that never send `100 Continue`.
            if !request.headers.contains("Expect") {
                try append("Expect:", to: &headerList)
            }
            // Without this libcurl labels every body as a form (x-www-form-urlencoded).
            if !request.headers.contains("Content-Type") {
                try append("Content-Type:", to: &headerList)
            }
        }
        if headerList != nil {
            try set(CURLOPT_HTTPHEADER, list: headerList)
        }
    }

    private func setMethodAndBody(_ request: HTTPRequest) throws(HTTPError) {
        let method = request.method
        guard method.rawValue.isHTTPToken else {
            throw HTTPError(
                kind: .invalidRequest,
                displayURL: displayURL,
                detail: "method \"\(method)\" is not a valid token"
            )
        }
        if request.sendsBody {
            // POST mode is libcurl's way to send a body with any method; CUSTOMREQUEST only
            // renames the method on the request line.
            try set(CURLOPT_POST, 1)
            try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: request.bodyLength ?? -1)
            try check(hermes_easy_set_read_function(raw, CurlCallbacks.read), "read function")
            try check(hermes_easy_set_seek_function(raw, CurlCallbacks.seek), "seek function")
            if let context {
                try set(CURLOPT_READDATA, pointer: context.unmanagedPointer)
                try set(CURLOPT_SEEKDATA, pointer: context.unmanagedPointer)
            }
            if method != .post {
                try set(CURLOPT_CUSTOMREQUEST, method.rawValue)
            }
        } else if method == .head {
            // A HEAD answer has no body even when it announces a length; libcurl must know.
            try set(CURLOPT_NOBODY, 1)
        } else {
            try set(CURLOPT_HTTPGET, 1)
            if method != .get {
                try set(CURLOPT_CUSTOMREQUEST, method.rawValue)
            }
        }
    }

    /// `if!NAME` binds to the device alone (its address follows from the route); `host!ADDRESS`
    /// to that local address. Neither falls back to the other, so a missing interface fails the
    /// request instead of silently measuring another path.
    private func setRoute(_ route: NetworkRoute) throws(HTTPError) {
        if let interface = route.interface {
            try set(CURLOPT_INTERFACE, route.bindsAddress ? "host!\(interface)" : "if!\(interface)")
        }
        switch route.family {
        case .any: break
        case .ipv4: try set(CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_V4))
        case .ipv6: try set(CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_V6))
        }
    }

    private func setResponseHandling(_ handling: ResponseBodyHandling, context: TransferContext)
        throws(HTTPError)
    {
        try check(hermes_easy_set_write_function(raw, CurlCallbacks.write), "write function")
        try set(CURLOPT_WRITEDATA, pointer: context.unmanagedPointer)
        try check(hermes_easy_set_header_function(raw, CurlCallbacks.header), "header function")
        try set(CURLOPT_HEADERDATA, pointer: context.unmanagedPointer)
        if case .collect(let limit) = handling {
            // Refuses an announced Content-Length above the limit before any body arrives; the
            // write callback enforces the limit for bodies without one.
            try set(CURLOPT_MAXFILESIZE_LARGE, offset: Int64(max(0, limit)))
        }
    }

    // MARK: - Results

    private func error(for code: CURLcode, request: HTTPRequest) -> HTTPError {
        let buffered = String(cString: errorBuffer)
        var detail = buffered.isEmpty ? curl_easy_strerror(code).map { String(cString: $0) } ?? "" : buffered
        var kind = HTTPError.Kind(curlCode: code)
        switch code {
        case CURLE_OPERATION_TIMEDOUT where detail.hasPrefix("Resolving timed out"):
            // A resolver that never answers is a DNS failure to the user, not a slow server.
            kind = .dns
        case CURLE_FILESIZE_EXCEEDED:
            if case .collect(let limit) = request.responseBody {
                detail = "the response body is larger than the \(limit)-byte limit"
            }
        default:
            break
        }
        return HTTPError(kind: kind, displayURL: displayURL, detail: detail, curlCode: code)
    }

    private func metrics() -> TransferMetrics {
        let address = stringInfo(CURLINFO_PRIMARY_IP)
        let port = longInfo(CURLINFO_PRIMARY_PORT)
        return TransferMetrics(
            nameResolved: microseconds(CURLINFO_NAMELOOKUP_TIME_T),
            connected: microseconds(CURLINFO_CONNECT_TIME_T),
            tlsDone: microseconds(CURLINFO_APPCONNECT_TIME_T),
            firstByte: microseconds(CURLINFO_STARTTRANSFER_TIME_T),
            total: microseconds(CURLINFO_TOTAL_TIME_T),
            bytesReceived: offsetInfo(CURLINFO_SIZE_DOWNLOAD_T),
            bytesSent: offsetInfo(CURLINFO_SIZE_UPLOAD_T),
            remoteAddress: address?.isEmpty == false ? address : nil,
            remotePort: port > 0 ? port : nil,
            newConnections: longInfo(CURLINFO_NUM_CONNECTS),
            redirectsFollowed: longInfo(CURLINFO_REDIRECT_COUNT),
            httpVersion: Self.majorVersion(longInfo(CURLINFO_HTTP_VERSION))
        )
    }

    private static func majorVersion(_ curlVersion: Int) -> Int {
        switch curlVersion {
        case Int(CURL_HTTP_VERSION_1_0), Int(CURL_HTTP_VERSION_1_1): 1
        case Int(CURL_HTTP_VERSION_2_0): 2
        case Int(CURL_HTTP_VERSION_3): 3
        default: 0
        }
    }

    private func microseconds(_ info: CURLINFO) -> Duration {
        .microseconds(offsetInfo(info))
    }

    private func offsetInfo(_ info: CURLINFO) -> Int64 {
        var value: curl_off_t = 0
        return hermes_easy_getinfo_off_t(raw, info, &value) == CURLE_OK ? Int64(value) : 0
    }

    private func longInfo(_ info: CURLINFO) -> Int {
        var value = 0
        return hermes_easy_getinfo_long(raw, info, &value) == CURLE_OK ? value : 0
    }

    private func stringInfo(_ info: CURLINFO) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard hermes_easy_getinfo_string(raw, info, &value) == CURLE_OK, let value else { return nil }
        return String(cString: value)
    }

    // MARK: - Setting options

    private func set(_ option: CURLoption, _ value: Int) throws(HTTPError) {
        try check(hermes_easy_setopt_long(raw, option, value), option)
    }

    private func set(_ option: CURLoption, offset value: Int64) throws(HTTPError) {
        try check(hermes_easy_setopt_off_t(raw, option, curl_off_t(value)), option)
    }

    /// libcurl copies string options, so the Swift string need not outlive the call.
    private func set(_ option: CURLoption, _ value: String) throws(HTTPError) {
        try check(hermes_easy_setopt_string(raw, option, value), option)
    }

    private func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws(HTTPError) {
        try check(hermes_easy_setopt_pointer(raw, option, pointer), option)
    }

    private func set(_ option: CURLoption, list: UnsafeMutablePointer<curl_slist>?) throws(HTTPError) {
        try check(hermes_easy_setopt_slist(raw, option, list), option)
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(HTTPError) {
        try check(code, "option \(option.rawValue)")
    }

    private func check(_ code: CURLcode, _ what: String) throws(HTTPError) {
        guard code != CURLE_OK else { return }
        let reason = curl_easy_strerror(code).map { String(cString: $0) } ?? "error \(code.rawValue)"
        throw HTTPError(
            kind: code == CURLE_OUT_OF_MEMORY ? .internal : .invalidRequest,
            displayURL: displayURL,
            detail: "libcurl rejected \(what): \(reason)",
            curlCode: code
        )
    }

    private func append(_ line: String, to list: inout UnsafeMutablePointer<curl_slist>?)
        throws(HTTPError)
    {
        guard let extended = curl_slist_append(list, line) else {
            throw HTTPError(kind: .internal, displayURL: displayURL, detail: "out of memory")
        }
        list = extended
    }
}

extension HTTPRequest {
    /// POST, PUT and PATCH always carry a body, if only an empty one with `Content-Length: 0`.
    var sendsBody: Bool {
        if case .empty = body {
            return method == .post || method == .put || method == .patch
        }
        return true
    }

    /// nil when the body is sent chunked.
    var bodyLength: Int64? {
        switch body {
        case .empty: 0
        case .bytes(let bytes): Int64(bytes.count)
        case .stream(let length, _): length
        }
    }
}

extension String {
    /// RFC 9110 token: what header names and methods are made of.
    var isHTTPToken: Bool {
        !isEmpty
            && utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                default:
                    "!#$%&'*+-.^_`|~".utf8.contains(byte)
                }
            }
    }
}

extension Duration {
    /// libcurl's millisecond options treat 0 as "no limit", so even a zero limit becomes 1 ms.
    var wholeMillisecondsRoundedUp: Int {
        guard self > .zero else { return 1 }
        let (seconds, attoseconds) = components
        let cappedSeconds = min(seconds, 1_000_000_000)
        let milliseconds = cappedSeconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(max(1, milliseconds))
    }
}

/// A TCP socket's local and remote port.
private struct SocketPorts: Equatable {
    let local: Int
    let remote: Int

    init(local: Int, remote: Int) {
        self.local = local
        self.remote = remote
    }

    /// nil for anything but a connected IPv4 or IPv6 socket.
    init?(of descriptor: Int32) {
        guard let local = Self.port(descriptor, getsockname), let remote = Self.port(descriptor, getpeername) else {
            return nil
        }
        self.init(local: local, remote: remote)
    }

    private static func port(
        _ descriptor: Int32, _ name: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { name(descriptor, $0, &length) }
        }
        guard named == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            }
        default:
            return nil
        }
    }
}
