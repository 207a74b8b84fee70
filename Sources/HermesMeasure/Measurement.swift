import Glibc
import HermesCore
import Synchronization

/// One run of `hermes-measure`: the lock, then each server in turn (the back-off check and the
/// engine under that server's deadline), and exactly one record per server, whatever happens.
public enum Measurement {
    /// Measures every server of `settings` one after another under one lock, handing each record
    /// to `output` as soon as it is made; returns the failures among them.
    @discardableResult
    public static func run(
        _ settings: MeasureSettings, output: RecordOutput, progress: LiveProgress,
        start: ContinuousClock.Instant = .now
    ) -> [MeasurementFailure] {
        var whole = Deadline(after: output.budget, from: start)
        var failures: [MeasurementFailure] = []
        func emit(_ record: Record) {
            if case .failure(let failure) = record { failures.append(failure) }
            output.emit(record)
        }
        let lock: RunLock
        do throws(MeasureFailure) {
            lock = try RunLock(directory: settings.lockDirectory, wait: min(settings.lockWait, whole.remaining))
        } catch {
            progress.finish()
            for target in output.pending { emit(.failure(failureRecord(error, target, start: start))) }
            return failures
        }
        defer { withExtendedLifetime(lock) {} }
        var targets = output.pending
        if settings.each, let list = settings.serverList {
            progress.phase("reading the server list \(list)")
            do throws(MeasureFailure) {
                let listDeadline = Deadline(after: min(settings.timeout, whole.remaining), from: start)
                let servers = try LibreSpeedServer.loadList(list, deadline: listDeadline, route: settings.route)
                targets = servers.map { server in
                    var target = settings
                    (target.listEntry, target.server, target.servers) = (server, server.url, [server.url])
                    return target
                }
                // Without --deadline, each server of the list has its --timeout.
                output.expect(targets)
                whole = Deadline(after: output.budget, from: start)
            } catch {
                progress.finish()
                emit(.failure(failureRecord(error, settings, start: start)))
                return failures
            }
        }
        for (position, target) in targets.enumerated() {
            // The first server's time counts from the start, lock wait included, as a run of one
            // server always has; each later one has its own --timeout, within --deadline.
            let begin = position == 0 ? start : ContinuousClock.now
            guard !whole.hasPassed else {
                let failure = MeasureFailure(
                    .timeout,
                    "not tested: the run's deadline (--deadline \(Int(seconds(whole.budget))) s) passed before "
                        + "this server's turn; \(position) of \(targets.count) server(s) were measured")
                emit(.failure(failureRecord(failure, target, start: begin)))
                continue
            }
            let deadline = Deadline(after: min(target.timeout, whole.end - begin), from: begin)
            emit(measureOne(target, deadline: deadline, progress: progress, start: begin))
        }
        progress.finish()
        return failures
    }

    /// The records of a run, collected rather than written (tests, and callers that are not a
    /// command).
    public static func records(
        _ settings: MeasureSettings, progress: LiveProgress, start: ContinuousClock.Instant = .now
    ) -> [Record] {
        let collected = Mutex<[Record]>([])
        let output = RecordOutput(settings) { record in collected.withLock { $0.append(record) } }
        run(settings, output: output, progress: progress, start: start)
        return collected.withLock { $0 }
    }

    /// One server: its result, or a failure saying what went wrong.
    static func measureOne(
        _ settings: MeasureSettings, deadline: Deadline, progress: LiveProgress, start: ContinuousClock.Instant
    ) -> Record {
        do throws(MeasureFailure) {
            var result = try measure(settings, deadline: deadline, progress: progress)
            result.timestamp = Timestamp.now()
            result.extensions.engine = settings.engine.rawValue
            result.extensions.serverURL = result.extensions.serverURL ?? settings.serverURL
            result.extensions.probe = settings.probeName
            result.extensions.durationMs = Int64(seconds(ContinuousClock.now - start) * 1000)
            result.extensions.link = settings.linkName
            result.extensions.interface = settings.interface
            return .result(result)
        } catch {
            return .failure(failureRecord(error, settings, start: start))
        }
    }

    /// The failure record of `settings`'s server, with its path, and the family a -4/-6 run was
    /// held to when the failure is one of reaching the server.
    static func failureRecord(_ failure: MeasureFailure, _ settings: MeasureSettings, start: ContinuousClock.Instant)
        -> MeasurementFailure
    {
        var message = failure.message
        if let family = settings.family.name, [.dns, .connect, .timeout].contains(failure.kind) {
            message += " (\(family) only, as -\(settings.family == .ipv6 ? 6 : 4) asks)"
        }
        if let interface = settings.interface, [.dns, .connect].contains(failure.kind),
            !message.contains("--interface")
        {
            message += " (bound to \(interface))"
        }
        var record = MeasurementFailure(
            timestamp: Timestamp.now(), error: message, errorKind: failure.kind, engine: settings.engine.rawValue,
            serverURL: settings.serverURL, probe: settings.probeName)
        record.link = settings.linkName
        record.interface = settings.interface
        return record
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
            // A hold is one server's; another server's success leaves it alone.
            if let previous, previous.engine == engine, previous.serverURL == settings.serverURL {
                RateLimitHold.clear(in: settings.stateDirectory)
            }
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
    /// One settings per server, in order: what each record of the run is of.
    public var targets: [MeasureSettings] {
        guard servers.count > 1 else { return [self] }
        return servers.map { server in
            var target = self
            target.server = server
            return target
        }
    }

    /// The record's `probe`: the configured name, else this host's name.
    var probeName: String {
        if let probe { return probe }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Writes the run's records to standard output, one per server, in order and once each: the
/// run's own, or, if a signal ends the run or it is still going `grace` after its deadline (a hang
/// nothing else caught), failures for the servers not yet done, written by another thread, after
/// which the process exits.
public final class RecordOutput: Sendable {
    /// The servers whose records are still to be written, and whether the output is closed.
    private let state: Mutex<(pending: [MeasureSettings], closed: Bool, written: Int)>

    private let write: @Sendable (Record) -> Void
    /// The run's deadline (`MeasureSettings.runDeadline`): it grows when a server list read for
    /// `--each` names the servers, unless `--deadline` fixed it.
    private let runBudget: Mutex<Duration>
    private let fixedBudget: Bool

    /// One record is owed for each of `settings.targets`; `write` takes each (standard output
    /// by default).
    public init(
        _ settings: MeasureSettings,
        write: @escaping @Sendable (Record) -> Void = {
            try? writeAll(RecordEncoder.encode($0), to: 1, name: "standard output")
        }
    ) {
        state = Mutex((settings.targets, false, 0))
        self.write = write
        runBudget = Mutex(settings.runDeadline(servers: settings.servers.count))
        fixedBudget = settings.deadline != nil
    }

    /// How many records were written.
    public var written: Int { state.withLock { $0.written } }

    /// The servers still owed a record.
    public var pending: [MeasureSettings] { state.withLock { $0.pending } }

    /// The whole run's time, from its start.
    public var budget: Duration { runBudget.withLock { $0 } }

    /// A server list read for `--each` replaces what is owed, and gives each of its servers its
    /// `--timeout` unless `--deadline` was given.
    func expect(_ targets: [MeasureSettings]) {
        state.withLock { $0.pending = targets }
        guard !fixedBudget, let first = targets.first else { return }
        runBudget.withLock { $0 = first.runDeadline(servers: targets.count) }
    }

    /// Writes the next server's record, unless the output was closed; true if written.
    @discardableResult
    public func emit(_ record: Record) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            if !state.pending.isEmpty { state.pending.removeFirst() }
            state.written += 1
            write(record)
            return true
        }
    }

    /// Writes a failure for every server still owed one and closes the output; false if it was
    /// closed already.
    private func close(_ error: String, _ kind: MeasurementFailure.ErrorKind) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.closed = true
            for target in state.pending {
                state.written += 1
                write(.failure(Measurement.failureRecord(MeasureFailure(kind, error), target, start: .now)))
            }
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
            // Records already written stand; the process ends either way.
            _ = close(
                "interrupted by \(name) before the test finished (systemd stops a run this way, also "
                    + "when the unit's TimeoutStartSec= passes)", .internal)
            _exit(ExitCode.measurementFailed.rawValue)
        }?.detach()
    }

    /// Starts the watchdog for a run of `settings` that began at `start`.
    public func watch(_ settings: MeasureSettings, start: ContinuousClock.Instant, grace: Duration = .seconds(5)) {
        BackgroundThread { [self] in
            // The budget may grow while this sleeps (a server list read for --each).
            var budget = self.budget
            while start + budget + grace > .now {
                sleepPrecisely(start + budget + grace - .now)
                budget = self.budget
            }
            let flag = settings.servers.count > 1 || settings.each ? "--deadline" : "--timeout"
            if close(
                "the run did not finish within its deadline (\(flag) \(Int(seconds(budget))) s) "
                    + "and was stopped; a network call did not honour its time limit", .timeout)
            {
                _exit(ExitCode.measurementFailed.rawValue)
            }
        }?.detach()
    }
}
