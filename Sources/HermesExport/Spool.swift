import CZlib
import Glibc
import HermesCore
import HermesHTTP

/// Where push sinks keep what the receiver has not accepted yet, and its bounds (`--spool`,
/// `--spool-max-bytes`, `--spool-max-age`).
public struct SpoolSettings: Sendable {
    public var root: String
    public var maximumBytes = SpoolSettings.defaultMaximumBytes
    public var maximumAge = SpoolSettings.defaultMaximumAge

    public static let defaultMaximumBytes = 64 << 20
    public static let defaultMaximumAge: Duration = .seconds(7 * 86400)

    public init(root: String) {
        self.root = root
    }
}

/// One push sink's queue for one destination: a directory of segment files under the spool root.
///
/// Every record a push sink takes is written here first and leaves only when the receiver has
/// accepted it, so a kill at any point leaves each record delivered or still spooled, and a
/// duplicate only for what was in flight. A segment is written whole (a temporary file, synced,
/// then renamed) and never appended to, so a reader sees all of it or none, and writers need no
/// lock between them. Each entry is one line, `<crc32 in hex> <payload>`: a damaged line is found,
/// reported and set aside, and the entries around it are still sent. Sending holds an exclusive
/// `flock` on the queue (`.lock`), so two runs never send the same entry.
///
/// Segment names order the queue: `<spooled-at ms, 13 digits>-<sequence>-<pid>-<entries>.spool`.
public final class SpoolQueue {
    public let directory: String
    public let name: String
    public let rejectedDirectory: String
    private var lockDescriptor: Int32 = -1
    private var sequence = 0

    public struct Segment: Equatable, Sendable {
        public var fileName: String
        public var spooledAt: Timestamp
        public var entries: Int
        public var bytes: Int
    }

    /// A queue named for its sink and a hash of the destination, so that a changed URL starts a
    /// new queue rather than sending one receiver's records to another.
    public init(settings: SpoolSettings, sink: String, destination: String) throws(IOError) {
        name = "\(sink)-\(Self.hash(destination))"
        directory = settings.root + "/" + name
        rejectedDirectory = settings.root + "/rejected"
        try FileSystem.createDirectories(directory)
        let label = directory + "/destination"
        if !FileSystem.exists(label) {
            // For a person looking at the directory: the URL without user info or query.
            let shown = destination.split(separator: " ", maxSplits: 1).map(String.init)
            let text = ([HTTPRequest(url: shown[0]).displayURL] + shown.dropFirst()).joined(separator: " ")
            try FileSystem.atomicReplace(label, with: Array((text + "\n").utf8), mode: 0o600)
        }
    }

    deinit {
        if lockDescriptor >= 0 { close(lockDescriptor) }
    }

    /// FNV-1a, 64 bits, as 16 hex digits: stable across runs and versions.
    static func hash(_ text: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    // MARK: Writing

    /// Writes `payloads` as segments of at most `segmentBytes` each (one request's worth); returns
    /// the segments' file names with what each holds, so the writer can send them without
    /// reading them back.
    @discardableResult
    public func append(_ payloads: [[UInt8]], at now: Timestamp, segmentBytes: Int) throws(IOError) -> [(
        fileName: String, payloads: [[UInt8]]
    )] {
        var written: [(fileName: String, payloads: [[UInt8]])] = []
        // Never before the newest segment already queued: a clock set back (NTP after a boot
        // without a real-time clock) must not put new records ahead of the backlog.
        let newest = segments().last
        let stamp = max(now, newest?.spooledAt ?? now)
        if let newest, newest.spooledAt == stamp, let taken = Self.sequence(of: newest.fileName) {
            // The same stamp: the sequence must sort after the newest, whichever process wrote it.
            sequence = max(sequence, taken)
        }
        var start = 0
        while start < payloads.count {
            var end = start
            var bytes = 0
            while end < payloads.count && (end == start || bytes + payloads[end].count <= segmentBytes) {
                bytes += payloads[end].count
                end += 1
            }
            let part = Array(payloads[start..<end])
            do {
                written.append((try writeSegment(part, spooledAt: stamp), part))
            } catch {
                // All or nothing: the caller pushes these records without the spool, so none of
                // them may stay queued, or the next run would send them again.
                for segment in written { unlink(directory + "/" + segment.fileName) }
                throw error
            }
            start = end
        }
        return written
    }

    private func writeSegment(_ payloads: [[UInt8]], spooledAt: Timestamp) throws(IOError) -> String {
        var fileName = ""
        repeat {
            // One process may open the queue again (a test, a long-running pipe): never reuse a name.
            sequence += 1
            fileName = Self.segmentName(spooledAt: spooledAt, sequence: sequence, entries: payloads.count)
        } while FileSystem.exists(directory + "/" + fileName)
        var contents: [UInt8] = []
        contents.reserveCapacity(payloads.reduce(0) { $0 + $1.count + 10 })
        for payload in payloads { Self.appendEntry(payload, to: &contents) }
        try FileSystem.atomicReplace(directory + "/" + fileName, with: contents, mode: 0o600)
        return fileName
    }

    static func sequence(of fileName: String) -> Int? {
        let parts = fileName.split(separator: "-")
        return parts.count == 4 ? Int(parts[1]) : nil
    }

    static func segmentName(spooledAt: Timestamp, sequence: Int, entries: Int) -> String {
        let milliseconds = String(max(0, spooledAt.millisecondsSinceEpoch))
        let padded = String(repeating: "0", count: max(0, 13 - milliseconds.count)) + milliseconds
        let sequenceText = String(sequence)
        return
            "\(padded)-\(String(repeating: "0", count: max(0, 6 - sequenceText.count)))\(sequenceText)-\(getpid())-\(entries).spool"
    }

    static func appendEntry(_ payload: [UInt8], to contents: inout [UInt8]) {
        let checksum = payload.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        let hex = String(checksum, radix: 16)
        contents += Array((String(repeating: "0", count: 8 - hex.count) + hex).utf8)
        contents.append(UInt8(ascii: " "))
        contents += payload
        contents.append(UInt8(ascii: "\n"))
    }

    // MARK: Reading

    /// The segments, oldest first.
    public func segments() -> [Segment] {
        var found: [(key: (Int64, Int, Int32), segment: Segment)] = []
        for fileName in FileSystem.names(in: directory) where fileName.hasSuffix(".spool") {
            let parts = fileName.dropLast(6).split(separator: "-")
            guard parts.count == 4, let milliseconds = Int64(parts[0]), let sequence = Int(parts[1]),
                let pid = Int32(parts[2]), let entries = Int(parts[3])
            else { continue }
            var status = stat()
            guard stat(directory + "/" + fileName, &status) == 0 else { continue }
            let segment = Segment(
                fileName: fileName, spooledAt: Timestamp(millisecondsSinceEpoch: milliseconds), entries: entries,
                bytes: Int(status.st_size))
            found.append(((milliseconds, sequence, pid), segment))
        }
        return found.sorted { $0.key < $1.key }.map(\.segment)
    }

    public struct Contents {
        public var payloads: [[UInt8]] = []
        /// Line numbers (from 1) whose checksum or shape is wrong, with their bytes.
        public var damaged: [(line: Int, bytes: [UInt8])] = []
    }

    public func read(_ segment: Segment) throws(IOError) -> Contents {
        let path = directory + "/" + segment.fileName
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw IOError(operation: "read", path: path, code: errno) }
        defer { close(descriptor) }
        let bytes = try FileSystem.readAll(descriptor, path: path)
        return Self.parse(bytes)
    }

    static func parse(_ bytes: [UInt8]) -> Contents {
        var contents = Contents()
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            lineNumber += 1
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n"))
            let line = bytes[start..<(end ?? bytes.count)]
            start = (end ?? bytes.count) + 1
            if end == nil || line.count < 9 || line[line.startIndex + 8] != UInt8(ascii: " ") {
                contents.damaged.append((lineNumber, Array(line)))
                continue
            }
            let payload = Array(line[(line.startIndex + 9)...])
            let expected = UInt32(String(decoding: line.prefix(8), as: UTF8.self), radix: 16)
            let actual = payload.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
            if expected == actual {
                contents.payloads.append(payload)
            } else {
                contents.damaged.append((lineNumber, Array(line)))
            }
        }
        return contents
    }

    // MARK: Sending

    /// Takes the queue's send lock without waiting; false when another run holds it. Kept until
    /// this queue is released, so one run sends the backlog and its own records in order.
    public func lockForSending() throws(IOError) -> Bool {
        if lockDescriptor >= 0 { return true }
        let path = directory + "/.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw IOError(operation: "open", path: path, code: errno) }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK { return false }
            throw IOError(operation: "lock", path: path, code: code)
        }
        lockDescriptor = descriptor
        FileSystem.removeAbandonedTemporaries(in: directory)
        return true
    }

    public func remove(_ segment: Segment) throws(IOError) {
        let path = directory + "/" + segment.fileName
        if unlink(path) != 0 && errno != ENOENT { throw IOError(operation: "remove", path: path, code: errno) }
    }

    /// Sets `payloads` aside in `rejected/`, headed by why, so nothing leaves the spool unseen.
    /// Returns the file's path.
    @discardableResult
    public func reject(_ payloads: [[UInt8]], reason: String, at now: Timestamp) throws(IOError) -> String {
        try FileSystem.createDirectories(rejectedDirectory)
        sequence += 1
        let path = "\(rejectedDirectory)/\(name)-\(now.millisecondsSinceEpoch)-\(getpid())-\(sequence).txt"
        var contents = Array("# \(reason.replacing("\n", with: " "))\n".utf8)
        for payload in payloads {
            contents += payload
            contents.append(UInt8(ascii: "\n"))
        }
        try FileSystem.atomicReplace(path, with: contents, mode: 0o600)
        return path
    }

    /// Drops the oldest segments while the queue is over `maximumBytes` or holds segments spooled
    /// before `now - maximumAge`; returns how many entries went.
    public func enforceBounds(_ settings: SpoolSettings, now: Timestamp) -> Int {
        let segments = segments()
        var total = segments.reduce(0) { $0 + $1.bytes }
        let ageLimit = now.adding(milliseconds: -Int64(settings.maximumAge / .milliseconds(1)))
        var dropped = 0
        for segment in segments where total > settings.maximumBytes || segment.spooledAt < ageLimit {
            guard (try? remove(segment)) != nil else { break }
            total -= segment.bytes
            dropped += segment.entries
        }
        return dropped
    }
}
