import Glibc
import Synchronization

/// How a pipe reader ends after systemd's SIGTERM: it finishes its input, and SIGALRM bounds the
/// wait (`HermesCommand.finishPipeOnTerminate()` arms it). The alarm ends a reader that is waiting
/// for input; a reader busy with what it has already read (a commit on a slow SD card, a push) is
/// given `grace` more and ends when it next waits, so a record that arrived is not lost to the
/// alarm. A second alarm ends it wherever it is.
public enum StopDeadline {
    /// What a busy reader gets after the first alarm, well inside systemd's 90 s stop timeout.
    public static let grace: UInt32 = 30

    private static let waiting = 1
    private static let expired = 2
    private static let state = Atomic<Int>(0)

    /// The SIGALRM handler's body: async-signal-safe (an atomic, `alarm`, `signal`, `raise`).
    public static func alarmRang() {
        let before = state.bitwiseOr(expired, ordering: .sequentiallyConsistent).oldValue
        if before != 0 { end() }
        alarm(grace)
    }

    /// Brackets a read that blocks until input comes; ends the process at once when the deadline
    /// has already passed.
    static func waitingForInput<Result>(_ body: () -> Result) -> Result {
        let before = state.bitwiseOr(waiting, ordering: .sequentiallyConsistent).oldValue
        if before & expired != 0 { end() }
        defer { state.bitwiseAnd(~waiting, ordering: .sequentiallyConsistent) }
        return body()
    }

    /// Ends the process by SIGALRM, as an unhandled alarm would have.
    private static func end() {
        signal(SIGALRM, SIG_DFL)
        raise(SIGALRM)
    }
}
