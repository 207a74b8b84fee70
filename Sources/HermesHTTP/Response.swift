/// A response that arrived completely. Any status counts as arrived: deciding whether a 404 is a
/// failure is the caller's job (`requireSuccess()`).
public struct HTTPResponse: Sendable {
    public let status: Int
    /// The reason phrase of the status line (`Not Found`); empty for HTTP/2 and later.
    public let reason: String
    /// Headers of the final response (after followed redirects).
    public let headers: HTTPHeaders
    /// The body when the request asked for `.collect`; empty otherwise.
    public let body: [UInt8]
    public let metrics: TransferMetrics
    /// The request's `displayURL`, for messages about this response.
    public let displayURL: String

    /// Public so that tools can fake responses in their own tests.
    public init(
        status: Int,
        reason: String = "",
        headers: HTTPHeaders = [:],
        body: [UInt8] = [],
        metrics: TransferMetrics = TransferMetrics(),
        displayURL: String
    ) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.metrics = metrics
        self.displayURL = displayURL
    }

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// Returns the response when its status is 2xx and throws `HTTPError.Kind.http` otherwise.
    public func requireSuccess() throws(HTTPError) -> HTTPResponse {
        guard isSuccess else { throw HTTPError.httpStatus(of: self) }
        return self
    }
}

extension Result where Success == HTTPResponse, Failure == HTTPError {
    /// The multi-transfer counterpart of `HTTPResponse.requireSuccess()`.
    public func requiringSuccess() -> Result<HTTPResponse, HTTPError> {
        flatMap { response in
            response.isSuccess ? .success(response) : .failure(HTTPError.httpStatus(of: response))
        }
    }
}

/// What libcurl measured about a transfer. Times run from the start of the transfer to the end
/// of each phase, so `connected - nameResolved` is the TCP handshake and `firstByte - tlsDone`
/// is roughly one round trip plus the server's think time.
public struct TransferMetrics: Sendable, Equatable {
    public let nameResolved: Duration
    public let connected: Duration
    /// End of the TLS handshake; zero for plain http.
    public let tlsDone: Duration
    /// First response byte received.
    public let firstByte: Duration
    public let total: Duration
    /// Response body bytes, also when they were streamed or discarded.
    public let bytesReceived: Int64
    /// Request body bytes.
    public let bytesSent: Int64
    /// The address connected to, when a connection was made.
    public let remoteAddress: String?
    public let remotePort: Int?
    /// Connections opened for this transfer: zero when a kept-alive one was reused.
    public let newConnections: Int
    public let redirectsFollowed: Int
    /// The HTTP version the response came in: 1 (1.0 or 1.1), 2 or 3; 0 when none came.
    public let httpVersion: Int

    public init(
        nameResolved: Duration = .zero,
        connected: Duration = .zero,
        tlsDone: Duration = .zero,
        firstByte: Duration = .zero,
        total: Duration = .zero,
        bytesReceived: Int64 = 0,
        bytesSent: Int64 = 0,
        remoteAddress: String? = nil,
        remotePort: Int? = nil,
        newConnections: Int = 0,
        redirectsFollowed: Int = 0,
        httpVersion: Int = 0
    ) {
        self.nameResolved = nameResolved
        self.connected = connected
        self.tlsDone = tlsDone
        self.firstByte = firstByte
        self.total = total
        self.bytesReceived = bytesReceived
        self.bytesSent = bytesSent
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.newConnections = newConnections
        self.redirectsFollowed = redirectsFollowed
        self.httpVersion = httpVersion
    }
}
