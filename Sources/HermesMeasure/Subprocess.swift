import Glibc
import HermesCore

/// Runs a program to completion with its output captured and a time limit: what the ookla-cli
/// engine needs, and nothing more.
enum Subprocess {
    struct Outcome {
        /// The exit status, or nil when it was killed (the time limit) or died of a signal.
        var status: Int32?
        var timedOut: Bool
        var standardOutput: [UInt8]
        var standardError: [UInt8]
    }

    enum Failure: Error {
        /// The program could not be started; `errno` from posix_spawn.
        case cannotStart(Int32)
    }

    /// Output beyond this is dropped; an Ookla result is a few kilobytes.
    static let outputLimit = 4 << 20

    static func run(_ arguments: [String], timeLimit: Duration) throws(Failure) -> Outcome {
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        guard pipe(&output) == 0 else { throw .cannotStart(errno) }
        guard pipe(&errors) == 0 else {
            close(output[0])
            close(output[1])
            throw .cannotStart(errno)
        }
        // Only the child's dup2'ed copies (1 and 2) may stay open in it.
        for descriptor in output + errors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        // hermes-measure blocks SIGTERM, SIGINT and SIGHUP to wait for them on a thread of its
        // own (`SingleRecordOutput.watchSignals`); the child starts with nothing blocked, so a stop
        // reaches it as it would any program.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let code = posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, environ)
        close(output[1])
        close(errors[1])
        guard code == 0 else {
            close(output[0])
            close(errors[0])
            throw .cannotStart(code)
        }

        let deadline = ContinuousClock.now + timeLimit
        var collected: [[UInt8]] = [[], []]
        var open = [output[0], errors[0]]
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open.contains(where: { $0 >= 0 }) {
            let remaining = deadline - .now
            guard remaining > .zero else {
                timedOut = true
                kill(pid, SIGKILL)
                break
            }
            var descriptors = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let milliseconds = Int32(min(1000, max(1, remaining.components.seconds * 1000 + 1)))
            let ready = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
            if ready < 0 && errno != EINTR { break }
            for (slot, descriptor) in descriptors.enumerated() where descriptor.fd >= 0 && descriptor.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(descriptor.fd, $0.baseAddress!, $0.count) }
                if count > 0 {
                    if collected[slot].count < outputLimit { collected[slot] += buffer[..<count] }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(descriptor.fd)
                    open[slot] = -1
                }
            }
        }
        for descriptor in open where descriptor >= 0 { close(descriptor) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        return Outcome(
            status: exited && !timedOut ? (status >> 8) & 0xff : nil, timedOut: timedOut,
            standardOutput: collected[0], standardError: collected[1])
    }
}
