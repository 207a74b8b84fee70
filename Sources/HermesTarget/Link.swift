import Glibc
import HermesCore
import Synchronization

/// One direction of the simulated bottleneck that every connection of a server shares, as the
/// streams of a speed test share an access link: N parallel streams move the rate in total, not N
/// times it.
///
/// The link is a FIFO queue drained at `bytesPerSecond`. `finish` is when the last byte handed to
/// it leaves. A sender may add bytes while the queue holds less than `queueLimit` of traffic, so
/// the queue stays that full while the link is saturated and a request that arrives then waits
/// `queueDelay` behind it (bufferbloat). A sender that was descheduled for less than `catchUp`
/// in the middle of a body may send what it missed; a longer gap is an idle link, and so is the
/// gap before a body starts (`startBody`): an idle link never stores credit, or a client's small
/// requests, each after a pause, would move faster than the link.
public final class Link: Sendable {
    public let bytesPerSecond: Double
    public let queueLimit: Duration
    public let catchUp: Duration
    /// The largest piece granted at once: about 2 ms of traffic, so streams interleave finely.
    private let grain: Int
    private let finish = Mutex<ContinuousClock.Instant>(.now)

    public init(bytesPerSecond: Double, queueLimit: Duration = .milliseconds(5), catchUp: Duration = .milliseconds(100))
    {
        self.bytesPerSecond = bytesPerSecond
        self.queueLimit = max(queueLimit, .milliseconds(1))
        self.catchUp = catchUp
        grain = Int(max(1460, min(bytesPerSecond / 500, 1_048_576)))
    }

    /// How many bytes (1 up to `wanted`) the caller may move now; waits until the queue has room.
    public func grant(_ wanted: Int) -> Int {
        let count = max(1, min(wanted, grain))
        let cost = Duration.seconds(Double(count) / bytesPerSecond)
        while true {
            let wait: Duration? = finish.withLock { finish in
                let now = ContinuousClock.now
                if finish < now - catchUp { finish = now }
                let queued = finish - now
                guard queued < queueLimit else { return queued - queueLimit }
                finish += cost
                return nil
            }
            guard let wait else { return count }
            sleepPrecisely(min(max(wait, .microseconds(50)), .milliseconds(50)))
        }
    }

    /// A body starts moving: time the link stood idle before it is not credit.
    public func startBody() {
        finish.withLock { finish in
            let now = ContinuousClock.now
            if finish < now { finish = now }
        }
    }

    /// How long a byte added now would wait before it leaves the link.
    public var queueDelay: Duration {
        let now = ContinuousClock.now
        return max(.zero, finish.withLock { $0 } - now)
    }
}

/// The two directions of the simulated link, and all the pacing a connection does: its reads and
/// writes ask here how much may move, and its answers to probes how long to wait.
struct Links: Sendable {
    /// Nil where a direction is not paced.
    private let down: Link?
    private let up: Link?

    init(configuration: TargetConfiguration) {
        let queueLimit = configuration.bufferbloat ?? .milliseconds(5)
        down = configuration.downBytesPerSecond.map { Link(bytesPerSecond: $0, queueLimit: queueLimit) }
        up = configuration.upBytesPerSecond.map { Link(bytesPerSecond: $0, queueLimit: queueLimit) }
        delaysProbes = configuration.bufferbloat != nil
    }

    private let delaysProbes: Bool

    /// How long a request that carries no data waits behind queued traffic; zero unless the
    /// server simulates bufferbloat.
    private var queueDelay: Duration {
        guard delaysProbes else { return .zero }
        return (down?.queueDelay ?? .zero) + (up?.queueDelay ?? .zero)
    }

    /// How long the answer to a request that carried `bodyBytes` waits behind queued traffic: a
    /// request without a body is a latency probe, and a probe is what bufferbloat delays.
    func probeDelay(bodyBytes: Int64) -> Duration {
        bodyBytes == 0 ? queueDelay : .zero
    }

    /// A response body, or a request body, starts (`Link.startBody`).
    func startDown() { down?.startBody() }
    func startUp() { up?.startBody() }

    /// A request body has been read: its last byte reaches the server when the up link's queue,
    /// which took it in, has drained. Until then the request is not answered, so its
    /// `Server-Timing` spans the body's whole way, as a real link's would.
    func finishUp() {
        guard let up else { return }
        let wait = up.queueDelay
        if wait > .zero { sleepPrecisely(wait) }
    }

    /// How many of `wanted` response bytes may be sent now, waiting until the link has room; all
    /// of them when downloads are not paced.
    func grantDown(_ wanted: Int) -> Int {
        down?.grant(wanted) ?? wanted
    }

    /// How many of `wanted` request body bytes may be taken in now, waiting until the link has
    /// room; all of them when uploads are not paced.
    func grantUp(_ wanted: Int) -> Int {
        up?.grant(wanted) ?? wanted
    }
}
