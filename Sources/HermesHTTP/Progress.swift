/// What a `MultiTransfer` run looks like at one moment, handed to the caller's progress closure.
public struct TransferProgress: Sendable {
    /// When the snapshot was taken, on the monotonic clock.
    public let instant: ContinuousClock.Instant
    /// Time since the run started.
    public let elapsed: Duration
    /// One entry per transfer, in the order the requests were given (those started later by a
    /// `ProgressDecision` follow the initial ones).
    public let transfers: [TransferSnapshot]
    /// The indices of transfers that finished since the previous call, with their results.
    public let finished: [(index: Int, result: Result<HTTPResponse, HTTPError>)]
}

/// One transfer's counters at the moment of a `TransferProgress`.
public struct TransferSnapshot: Sendable, Equatable {
    /// Response body bytes received so far.
    public let bytesReceived: Int64
    /// Request body bytes handed to the socket so far.
    public let bytesSent: Int64
    /// Bytes still in the connection's send queue, not yet acknowledged by the peer; zero once
    /// finished. `bytesSent - bytesUnacknowledged` is what has reached the other side, which is
    /// what an upload rate must count: socket buffers of megabytes fill at the start.
    public let bytesUnacknowledged: Int64
    /// The connection's smoothed round-trip time (TCP_INFO), for a request that set
    /// `reportsRoundTrip`, while it runs; nil otherwise.
    public let roundTrip: Duration?
    /// True once the transfer has a result (response, error or cancellation); its counters no
    /// longer change.
    public let isFinished: Bool
}

/// The progress closure's answer: transfers to stop and new ones to start, which get the next
/// indices in order.
public struct ProgressDecision: Sendable {
    public var cancel: Set<Int>
    public var cancelAll: Bool
    public var start: [HTTPRequest]

    public init(cancel: Set<Int> = [], cancelAll: Bool = false, start: [HTTPRequest] = []) {
        self.cancel = cancel
        self.cancelAll = cancelAll
        self.start = start
    }

    public static let proceed = ProgressDecision()
    /// Stop every unfinished transfer now; each ends with `HTTPError.Kind.aborted`.
    public static let cancelAll = ProgressDecision(cancelAll: true)
    /// Stop the unfinished transfers at these indices; the others go on.
    public static func cancel(_ indices: Set<Int>) -> ProgressDecision { ProgressDecision(cancel: indices) }
    /// Start more transfers alongside the running ones.
    public static func start(_ requests: [HTTPRequest]) -> ProgressDecision { ProgressDecision(start: requests) }
}

/// Byte counters of one transfer as libcurl reports them.
struct ByteCounts {
    var received: Int64 = 0
    var sent: Int64 = 0
    var unacknowledged: Int64 = 0
    var roundTripMicroseconds: Int64?
}
