import Foundation

/// How a program run to its end went.
package struct ProcessOutcome: Sendable {
    package var status: Int32
    package var stdout: String
    package var stderr: String
    /// Whether it was killed for outliving its deadline.
    package var timedOut: Bool
    /// False when something it started kept its output pipes open after it exited.
    package var outputComplete: Bool
}

/// Runs programs the tests need (systemd-analyze, bash pipelines, curl) with a deadline, and
/// servers they start and must stop. Children are killed with SIGKILL: the test runner starts
/// them with SIGTERM blocked, so `Process.terminate()` would not end them.
package enum ChildProcess {
    /// Where an installed program is, searching the directories Debian installs into.
    package static func installed(_ name: String) -> String? {
        ["/usr/bin", "/bin", "/usr/sbin", "/usr/local/bin"].map { $0 + "/" + name }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    package struct LaunchError: Error, CustomStringConvertible {
        package let description: String
    }

    /// Runs `path` to its end: `environment` is the whole environment when given (nil inherits
    /// the test's), `input` goes to standard input; after `timeout` the program is killed.
    package static func run(
        _ path: String, _ arguments: [String], environment: [String: String]? = nil, input: String = "",
        currentDirectory: String? = nil, timeout: Duration = .seconds(60)
    ) throws -> ProcessOutcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            throw LaunchError(description: "cannot run \(path): \(error)")
        }
        let collected = CollectedOutput()
        // A program that exits before reading its input (a usage error) closes the pipe under the
        // writer: that is EPIPE for the test to ignore, not a SIGPIPE that ends the whole runner.
        signal(SIGPIPE, SIG_IGN)
        let threads = [
            Thread {
                try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
                try? stdin.fileHandleForWriting.close()
            },
            Thread { collected.set(stdout: stdout.fileHandleForReading.readDataToEndOfFile()) },
            Thread { collected.set(stderr: stderr.fileHandleForReading.readDataToEndOfFile()) },
        ]
        for thread in threads { thread.start() }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
        let timedOut = process.isRunning
        if timedOut { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        // A grandchild that kept the pipes open must not hang the suite either.
        let drained = ContinuousClock.now + .seconds(10)
        while !collected.isComplete && ContinuousClock.now < drained { usleep(1_000) }
        let (out, err) = collected.texts
        return ProcessOutcome(
            status: process.terminationStatus, stdout: out, stderr: err, timedOut: timedOut,
            outputComplete: collected.isComplete)
    }
}

/// A server running in the background for one test: its standard error is collected so that
/// the test can wait for the line saying it is ready; `stop()` (or deinit) kills it.
package final class BackgroundProcess: @unchecked Sendable {
    private let process = Process()
    private let output = CollectedText()
    package let name: String

    package init(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        name = URL(fileURLWithPath: path).lastPathComponent
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = pipe
        process.standardError = pipe
        do {
            try process.run()
        } catch {
            throw ChildProcess.LaunchError(description: "cannot start \(path): \(error)")
        }
        let output = self.output
        Thread {
            while true {
                let data = pipe.fileHandleForReading.availableData
                if data.isEmpty { break }
                output.append(data)
            }
        }.start()
    }

    /// Everything it has written to standard output and standard error so far.
    package var outputText: String { output.text }

    package var isRunning: Bool { process.isRunning }

    package var pid: Int32 { process.processIdentifier }

    /// Waits until its output contains `text`; the output so far, or nil after `timeout` or if
    /// the process ended first.
    package func waitForOutput(containing text: String, timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let seen = output.text
            if seen.contains(text) { return seen }
            if !process.isRunning { return nil }
            usleep(10_000)
        }
        return nil
    }

    package func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

private final class CollectedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var out: Data?
    private var err: Data?

    func set(stdout data: Data) { lock.withLock { out = data } }
    func set(stderr data: Data) { lock.withLock { err = data } }
    var isComplete: Bool { lock.withLock { out != nil && err != nil } }
    var texts: (String, String) {
        lock.withLock {
            (String(decoding: out ?? Data(), as: UTF8.self), String(decoding: err ?? Data(), as: UTF8.self))
        }
    }
}

private final class CollectedText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

extension Process {
    /// Starts the process with no signal blocked, as systemd starts a service. The test runner
    /// blocks SIGTERM, and a child takes the starting thread's mask, so it is unblocked around
    /// the start.
    package func runAsSystemdWould() throws {
        var terminate = sigset_t()
        var previous = sigset_t()
        sigemptyset(&terminate)
        sigaddset(&terminate, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &terminate, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try run()
    }
}

/// Polls `body` every `interval` until it returns a value or `timeout` passes; nil then. Waiting
/// for a condition instead of sleeping a fixed time keeps a test right on a loaded host.
package func eventually<T>(
    within timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(20), _ body: () throws -> T?
) rethrows -> T? {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try body() { return value }
        guard ContinuousClock.now < deadline else { return nil }
        sleep(for: interval)
    }
}

/// Whether process `pid` has a handler for `signal`: its SigCgt mask in /proc says so. A test
/// sends SIGTERM only then, not after a guessed start-up time.
package func catches(_ signal: Int32, pid: Int32) -> Bool {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
        let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    else { return false }
    return mask & (1 << UInt64(signal - 1)) != 0
}

/// The name (comm) of process `pid`, nil once it is gone.
package func processName(_ pid: Int32) -> String? {
    (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
}
