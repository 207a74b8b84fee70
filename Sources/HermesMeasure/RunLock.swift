import Glibc
import HermesCore

/// Keeps two tests on one host from overlapping (they would measure each other): an exclusive
/// flock on `hermes-measure.lock`, held until the process exits or the lock is released.
final class RunLock {
    static let fileName = "hermes-measure.lock"
    private let descriptor: Int32

    /// Waits up to `wait` for the lock.
    init(directory: String, wait: Duration) throws(MeasureFailure) {
        let path = directory + "/" + Self.fileName
        do {
            try FileSystem.createDirectories(directory)
        } catch {
            throw MeasureFailure(.internal, "cannot create the lock directory: \(error)")
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw MeasureFailure(.internal, "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        let giveUp = ContinuousClock.now + wait
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(descriptor)
                throw MeasureFailure(.internal, "cannot lock \(path): \(String(cString: strerror(code)))")
            }
            guard ContinuousClock.now < giveUp else {
                close(descriptor)
                throw MeasureFailure(
                    .timeout,
                    "another speed test is in progress on this host (it holds \(path)); waited "
                        + "\(Int(seconds(wait))) s, then gave up so that the two would not measure each other")
            }
            sleepPrecisely(.milliseconds(100))
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
