/// The hard deadline of a whole run (`--timeout`): every wait and every request is bounded by
/// what is left of it.
public struct Deadline: Sendable {
    public let end: ContinuousClock.Instant
    public let budget: Duration

    public init(after budget: Duration, from start: ContinuousClock.Instant = .now) {
        self.budget = budget
        end = start + budget
    }

    public var remaining: Duration { max(.zero, end - .now) }
    public var hasPassed: Bool { ContinuousClock.now >= end }

    /// `limit`, or less when the deadline comes first.
    public func bounded(_ limit: Duration) -> Duration { min(limit, remaining) }

    /// The failure for a run that ran out of time during `activity`.
    func expired(during activity: String) -> MeasureFailure {
        MeasureFailure(
            .timeout,
            "the run's deadline (--timeout \(Int(seconds(budget))) s) passed during \(activity); "
                + "the link or the server is too slow, or --timeout is too short")
    }
}
