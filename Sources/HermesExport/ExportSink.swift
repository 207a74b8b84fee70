import HermesCore

/// One destination of `hermes-export`: a textfile, an exposition, a push, the tee. `Export` hands
/// each sink every accepted record and tells it when to make them visible; the sink keeps its own
/// failure, and `Export.exitCode` picks the run's exit status from all of them by `failureRank`. Adding a sink is one
/// file conforming to this and one line in hermes-export's list (docs/ARCHITECTURE.md, recipes).
public protocol ExportSink: AnyObject {
    /// How the sink's failure ranks when the run picks one exit status.
    var failureRank: ExportFailureRank { get }
    /// The metric state an earlier run left (the textfile's), read before the first record; nil
    /// when the sink keeps none.
    func restoreState(_ context: ExportContext) -> MetricState?
    /// Takes one accepted record; `context.state` already includes it.
    func accept(_ record: Record, _ context: ExportContext)
    /// Holds something accepted but not yet visible downstream.
    var hasPending: Bool { get }
    /// Wants a flush before it takes more (a full push batch).
    var isFull: Bool { get }
    /// Makes what was accepted visible: when a batch is full, when the producer pauses, and at
    /// the end of the input.
    func flush(_ reason: FlushReason, _ context: ExportContext)
    /// What failed, already reported on standard error; nil when nothing did.
    var failure: ExportError? { get }
    /// Lines for the end of the run, such as what never reached the receiver.
    func closingReport() -> [String]
}

extension ExportSink {
    public func restoreState(_ context: ExportContext) -> MetricState? { nil }
    public var hasPending: Bool { false }
    public var isFull: Bool { false }
    public func closingReport() -> [String] { [] }
}

public enum FlushReason: Sendable {
    case batchFull, quiet, endOfInput
    /// After every sink flushed at the end of the input: what the pushes did (their spools) is
    /// now in the state, for the textfile and the exposition to show.
    case settled
}

/// When several sinks fail, the most specific failure decides the exit status: a local output
/// (standard output, the input), then the textfile, then a push. Bad input lines (65) come last.
public enum ExportFailureRank: Int, Comparable, Sendable {
    case push, textfile, localOutput

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What every sink of one run shares.
public final class ExportContext {
    /// The metrics of the records so far, on top of what an earlier run left.
    public internal(set) var state = MetricState()
    public let diagnostics: Diagnostics
    public let compatibilityMetrics: Bool
    /// `--label` pairs: on every textfile sample and every remote-write series.
    public let labels: [(name: String, value: String)]

    init(diagnostics: Diagnostics, compatibilityMetrics: Bool, labels: [(name: String, value: String)] = []) {
        self.diagnostics = diagnostics
        self.compatibilityMetrics = compatibilityMetrics
        self.labels = labels
    }

    /// The exposition of the current state, as the textfile and `--prometheus` write it.
    public func exposition() -> String {
        Exposition.render(state, compatibility: compatibilityMetrics, labels: labels)
    }

    /// The sinks that set their spool figures this run.
    public private(set) var spoolsReported: Set<String> = []

    /// Sets what a push sink's spool holds, for the `hermes_spool_*` metrics.
    public func setSpool(_ sink: String, entries: Int, oldestSpooled: Timestamp?, dropped: Int) {
        spoolsReported.insert(sink)
        var gauges = state.spools[sink] ?? MetricState.SpoolGauges()
        gauges.entries = entries
        gauges.oldestSpooled = oldestSpooled
        gauges.dropped += dropped
        state.spools[sink] = gauges
    }
}
