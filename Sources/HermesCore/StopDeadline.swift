import Glibc
import Synchronization

/// How a pipe reader ends after systemd's SIGTERM: it finishes its input, and SIGALRM bounds the
/// wait (`HermesCommand.finishPipeOnTerminate()` arms it). The alarm ends a reader that is waiting
/// for input that does not come; a reader busy with what it has already read (a commit on a slow
/// SD card, a push) is given `grace` more, reads what input has already arrived, and ends when it
/// would have to wait again. A second alarm ends it wherever it is.
public enum StopDeadline {
    /// What a busy reader gets after the first alarm, well inside systemd's 90 s stop timeout.
    public static let grace: UInt32 = 30

    private static let waiting = 1
    private static let expired = 2
    /// Work in hand counts in the bits above these two.
    private static let work = 4
    private static let state = Atomic<Int>(0)

    /// Touches the state before a signal handler may: a global's first use runs its initializer,
    /// which is not async-signal-safe.
    public static func prepare() {
        _ = state.load(ordering: .sequentiallyConsistent)
    }

    /// The SIGALRM handler's body: async-signal-safe (an atomic, `alarm`, `signal`, `raise`).
    public static func alarmRang() {
        let before = state.bitwiseOr(expired, ordering: .sequentiallyConsistent).oldValue
        if before & expired != 0 || (before & waiting != 0 && before < work) { end() }
        alarm(grace)
    }

    /// A record (or batch) read and handed on: until `finishedWork()`, an alarm does not end the
    /// process, even while a reading thread waits for more.
    public static func startedWork() {
        state.add(work, ordering: .sequentiallyConsistent)
    }

    /// The work is done; if the deadline passed meanwhile and the reader is waiting for input,
    /// this is the moment to end.
    public static func finishedWork() {
        let after = state.subtract(work, ordering: .sequentiallyConsistent).newValue
        if after & expired != 0 && after & waiting != 0 && after < work { end() }
    }

    /// Brackets a read of `descriptor` that blocks until input comes. Once the deadline has
    /// passed, input already there is still read; a read that would wait ends the process instead,
    /// unless work is in hand (which then ends it when done).
    static func waitingForInput<Result>(on descriptor: Int32, _ body: () -> Result) -> Result {
        let before = state.bitwiseOr(waiting, ordering: .sequentiallyConsistent).oldValue
        defer { state.bitwiseAnd(~waiting, ordering: .sequentiallyConsistent) }
        if before & expired != 0 && before < work && !isReadable(descriptor) { end() }
        return body()
    }

    private static func isReadable(_ descriptor: Int32) -> Bool {
        var check = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&check, 1, 0) > 0
    }

    /// Ends the process by SIGALRM, as an unhandled alarm would have.
    private static func end() {
        signal(SIGALRM, SIG_DFL)
        raise(SIGALRM)
    }
}
