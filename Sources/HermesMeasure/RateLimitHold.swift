import Glibc
import HermesCore

/// After a service rate-limited us, the time before which the same engine and server are not
/// tried again, kept in the state directory so that the next timer runs report the back-off
/// instead of hammering the service (`measure-backoff.json`).
public struct RateLimitHold: Sendable, Equatable {
    public var notBefore: Timestamp
    public var engine: String
    public var serverURL: String?
    /// Rate limits in a row; without a Retry-After each one doubles the wait.
    public var strikes: Int
    public var reason: String

    static let fileName = "measure-backoff.json"
    /// Without a Retry-After: 15 minutes, doubling up to 4 hours (Ookla blocks for 15 min to 2 h).
    static let firstWait: Duration = .seconds(15 * 60)
    static let longestWait: Duration = .seconds(4 * 3600)
    static let longestRetryAfter: Duration = .seconds(24 * 3600)

    /// The back-off after `failure`, following `previous` if it was for the same service.
    static func after(
        _ failure: MeasureFailure, previous: RateLimitHold?, engine: String, serverURL: String?, now: Timestamp
    ) -> RateLimitHold {
        let strikes = (previous?.engine == engine && previous?.serverURL == serverURL ? previous!.strikes : 0) + 1
        let wait: Duration
        if let retryAfter = failure.retryAfter {
            wait = min(max(retryAfter, .seconds(1)), longestRetryAfter)
        } else {
            wait = min(firstWait * (1 << min(strikes - 1, 8)), longestWait)
        }
        let milliseconds = wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000
        return RateLimitHold(
            notBefore: now.adding(milliseconds: milliseconds), engine: engine, serverURL: serverURL,
            strikes: strikes, reason: failure.message)
    }

    func applies(engine: String, serverURL: String?, at now: Timestamp) -> Bool {
        self.engine == engine && self.serverURL == serverURL && now < notBefore
    }

    // MARK: The file

    /// The hold in force, if the file holds one; nil for no file and for a damaged one alike
    /// (`read` tells them apart).
    static func load(from directory: String) -> RateLimitHold? {
        if case .hold(let hold) = read(from: directory) { hold } else { nil }
    }

    /// What the file holds, read as every state file is (`VersionedState`).
    public enum Stored: Equatable, Sendable {
        case none
        case hold(RateLimitHold)
        /// Unreadable: reported, and removed so that a fresh one can be written.
        case damaged(String)
        /// Written by a newer hermes-measure: left alone, and the run exits 78.
        case newer(String)
        /// Could not be opened or read (permissions, I/O): reported and left alone.
        case unreadable(String)
    }

    public static func read(from directory: String) -> Stored {
        let path = directory + "/" + fileName
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return errno == ENOENT
                ? .none
                : .unreadable("cannot read \(path): \(String(cString: strerror(errno))); no back-off applies this run")
        }
        defer { close(descriptor) }
        guard let bytes = try? FileSystem.readAll(descriptor, path: path) else {
            return .unreadable("cannot read \(path): \(String(cString: strerror(errno))); no back-off applies this run")
        }
        // Empty: a run stopped before it wrote anything.
        guard !bytes.isEmpty else { return .none }
        do throws(VersionedState.Problem) {
            let object = try VersionedState.object(from: bytes, tool: "hermes-measure", readable: 1...1)
            guard case .string(let notBefore)? = object["not_before"], let time = try? Timestamp(rfc3339: notBefore)
            else { throw VersionedState.Problem("no valid \"not_before\"") }
            guard case .string(let engine)? = object["engine"] else {
                throw VersionedState.Problem("no valid \"engine\"")
            }
            let strikes: Int =
                if case .integer(let count)? = object["strikes"] { Int(clamping: count) } else { 1 }
            return .hold(
                RateLimitHold(
                    notBefore: time, engine: engine, serverURL: object.string("server_url"), strikes: max(1, strikes),
                    reason: object.string("reason") ?? ""))
        } catch  where error.isNewerFormat {
            return .newer("state file \(path) has \(error.message): upgrade hermes-measure or move the file away")
        } catch {
            return .damaged("state file \(path) is damaged (\(error.message)); removed, so no back-off holds")
        }
    }

    func save(in directory: String) throws(IOError) {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("v", Int64(1))
        writer.field("not_before", notBefore.rfc3339)
        writer.field("engine", engine)
        writer.field("server_url", serverURL)
        writer.field("strikes", Int64(strikes))
        writer.field("reason", reason)
        writer.endObject()
        writer.newline()
        try FileSystem.createDirectories(directory)
        try FileSystem.atomicReplace(directory + "/" + Self.fileName, with: writer.bytes, mode: 0o644)
    }

    public static func clear(in directory: String) {
        unlink(directory + "/" + fileName)
    }
}
