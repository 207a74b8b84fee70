/// What a `MultiTransfer` run looks like at one moment, handed to the caller's progress closure.
public struct TransferProgress: Sendable {
    /// When the snapshot was taken, on the monotonic clock.
    public let instant: ContinuousClock.Instant
    /// Time since the run started.
    public let elapsed: Duration
    /// One entry per request, in the order the requests were given.
    public let transfers: [TransferSnapshot]
}

/// One transfer's counters at the moment of a `TransferProgress`.
public struct TransferSnapshot: Sendable, Equatable {
    /// Response body bytes received so far.
    public let bytesReceived: Int64
    /// Request body bytes sent so far.
    public let bytesSent: Int64
    /// True once the transfer has a result (response, error or cancellation); its counters no
    /// longer change.
    public let isFinished: Bool
}

/// The progress closure's answer.
public enum ProgressDecision: Sendable, Equatable {
    case proceed
    /// Stop every unfinished transfer now; each ends with `HTTPError.Kind.aborted`.
    case cancelAll
    /// Stop the unfinished transfers at these request indices; the others go on.
    case cancel(Set<Int>)
}

/// Byte counters of one transfer as libcurl reports them.
struct ByteCounts {
    var received: Int64 = 0
    var sent: Int64 = 0
}
