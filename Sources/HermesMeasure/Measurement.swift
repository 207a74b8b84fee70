import Glibc
import HermesCore
import Synchronization

/// One run of `hermes-measure`: lock, back-off check, the engine under the deadline, and exactly
/// one record, whatever happens.
public enum Measurement {
    /// Runs the test and returns its record: a result, or a failure saying what went wrong.
    public static func run(_ settings: MeasureSettings, progress: LiveProgress, start: ContinuousClock.Instant = .now)
        -> Record
    {
        let deadline = Deadline(after: settings.timeout, from: start)
        let engine = settings.engine.rawValue
        let serverURL = settings.serverURL
        let outcome: Result<SpeedResult, MeasureFailure>
        do throws(MeasureFailure) {
            let lock = try RunLock(directory: settings.lockDirectory, wait: min(settings.lockWait, deadline.remaining))
            defer { withExtendedLifetime(lock) {} }
            outcome = .success(try measure(settings, deadline: deadline, progress: progress))
        } catch {
            outcome = .failure(error)
        }
        progress.finish()
        let probe = settings.probeName
        let durationMilliseconds = Int64(seconds(ContinuousClock.now - start) * 1000)
        switch outcome {
        case .success(var result):
            result.timestamp = Timestamp.now()
            result.extensions.engine = engine
            result.extensions.serverURL = result.extensions.serverURL ?? serverURL
            result.extensions.probe = probe
            result.extensions.durationMs = durationMilliseconds
            return .result(result)
        case .failure(let failure):
            return .failure(
                MeasurementFailure(
                    timestamp: Timestamp.now(), error: failure.message, errorKind: failure.kind, engine: engine,
                    serverURL: serverURL, probe: probe))
        }
    }

    /// Under the lock: honour a back-off, measure, and record a new back-off on a rate limit.
    private static func measure(
        _ settings: MeasureSettings, deadline: Deadline, progress: LiveProgress
    ) throws(MeasureFailure) -> SpeedResult {
        let engine = settings.engine.rawValue
        let previous = RateLimitHold.load(from: settings.stateDirectory)
        if let previous, previous.applies(engine: engine, serverURL: settings.serverURL, at: Timestamp.now()) {
            throw MeasureFailure(
                .rateLimited,
                "not testing before \(previous.notBefore.rfc3339): the service rate-limited the last test "
                    + "(\(previous.reason))")
        }
        do throws(MeasureFailure) {
            let result = try settings.engine.make(settings).measure(deadline: deadline, progress: progress)
            if previous != nil { RateLimitHold.clear(in: settings.stateDirectory) }
            return result
        } catch  where error.kind == .rateLimited {
            let backoff = RateLimitHold.after(
                error, previous: previous, engine: engine, serverURL: settings.serverURL, now: Timestamp.now())
            do {
                try backoff.save(in: settings.stateDirectory)
            } catch let saveError {
                throw MeasureFailure(
                    .rateLimited, "\(error.message); the back-off could not be kept: \(saveError)")
            }
            throw MeasureFailure(.rateLimited, "\(error.message); next test not before \(backoff.notBefore.rfc3339)")
        }
    }

}

extension MeasureSettings {
    /// The record's `probe`: the configured name, else this host's name.
    var probeName: String {
        if let probe { return probe }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Writes the run's one record to standard output, once: either the run's own, or, if the run
/// is still going `grace` after its deadline (a hang nothing else caught), a timeout failure
/// written by a watchdog thread, after which the process exits.
public final class SingleRecordOutput: Sendable {
    private let written = Mutex(false)

    public init() {}

    /// Writes `record` unless a record was already written; true if this call wrote it.
    @discardableResult
    public func emit(_ record: Record) -> Bool {
        written.withLock { written in
            guard !written else { return false }
            written = true
            try? writeAll(RecordEncoder.encode(record), to: 1, name: "standard output")
            return true
        }
    }

    /// SIGTERM (what systemd sends to stop the unit, also when its `TimeoutStartSec=` passes),
    /// SIGINT and SIGHUP end the run with its one record: a failure that says so, so an
    /// interrupted run stays visible in the history. Call before any other thread starts: the
    /// signals are blocked in every thread and waited for on one of their own.
    public func watchSignals(_ settings: MeasureSettings) {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] {
            // An ignored signal is discarded before sigwait could see it. SIGTERM and SIGINT are
            // taken back from whoever ignored them; SIGHUP stays ignored under nohup.
            var current = sigaction()
            sigaction(signal, nil, &current)
            let handler = current.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: Int.self) } ?? 0
            let ignored = handler == unsafeBitCast(SIG_IGN, to: Int.self)
            if ignored && signal == SIGHUP { continue }
            if ignored { Glibc.signal(signal, SIG_DFL) }
            sigaddset(&signals, signal)
        }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let waited = signals
        BackgroundThread { [self] in
            var set = waited
            var received: Int32 = 0
            guard sigwait(&set, &received) == 0 else { return }
            let name = [SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGHUP: "SIGHUP"][received] ?? "signal \(received)"
            let failure = Self.failure(
                "interrupted by \(name) before the test finished (systemd stops a run this way, also "
                    + "when the unit's TimeoutStartSec= passes)", .internal, settings)
            // If the run's own record went out first, it stands; the process ends either way.
            emit(.failure(failure))
            _exit(ExitCode.measurementFailed.rawValue)
        }?.detach()
    }

    /// A failure record of a run of `settings`, made now (by the signal thread or the watchdog).
    private static func failure(_ error: String, _ kind: MeasurementFailure.ErrorKind, _ settings: MeasureSettings)
        -> MeasurementFailure
    {
        MeasurementFailure(
            timestamp: Timestamp.now(), error: error, errorKind: kind, engine: settings.engine.rawValue,
            serverURL: settings.serverURL, probe: settings.probeName)
    }

    /// Starts the watchdog for a run of `settings` that began at `start`.
    public func watch(_ settings: MeasureSettings, start: ContinuousClock.Instant, grace: Duration = .seconds(5)) {
        BackgroundThread { [self] in
            sleepPrecisely(start + settings.timeout + grace - .now)
            let failure = Self.failure(
                "the run did not finish within its deadline (--timeout \(Int(seconds(settings.timeout))) s) "
                    + "and was stopped; a network call did not honour its time limit", .timeout, settings)
            if emit(.failure(failure)) { _exit(ExitCode.measurementFailed.rawValue) }
        }?.detach()
    }
}
