import Glibc

/// Reads NDJSON records from a file descriptor, one line at a time, in bounded memory.
///
/// Each line yields a record, nothing (blank lines, Ookla progress) or a rejection naming the line
/// number and the reason. A line longer than `maximumLineLength` is rejected without being buffered.
public struct RecordReader {
    public static let maximumLineLength = 1 << 20

    public enum Item: Sendable {
        case record(Record, line: Int)
        case rejected(line: Int, reason: String)
    }

    private let lines: LineReader
    private let canonical = CanonicalRecordDecoder()

    public init(fileDescriptor: Int32, maximumLineLength: Int = RecordReader.maximumLineLength) {
        lines = LineReader(fileDescriptor: fileDescriptor, maximumLineLength: maximumLineLength)
    }

    /// The next item, or nil at end of input. Throws only for read errors on the descriptor.
    public mutating func next() throws(IOError) -> Item? {
        while let line = try lines.next() {
            switch line {
            case .tooLong(let number):
                return .rejected(line: number, reason: "line is longer than \(lines.maximumLineLength) bytes")
            case .complete(let number, let range):
                // Plain canonical records, nearly every line of a bulk import, go straight into an
                // item: a Record is large, and each layer of wrapping is a copy of its bytes.
                if let record = lines.withBytes(in: range, { canonical.decode($0) }) {
                    return .record(record, line: number)
                }
                let outcome = lines.withBytes(in: range) { Self.decode(line: $0, canonical: nil) }
                // Consumed, so the record moves on instead of being copied (a retain per string).
                switch consume outcome {
                case .success(.some(.record(let record))): return .record(record, line: number)
                case .success(.some(.ignored)), .success(.none): continue
                case .failure(let rejection): return .rejected(line: number, reason: rejection.reason)
                }
            }
        }
        return nil
    }

    /// Waits up to `milliseconds` for another complete line; false means the producer is quiet,
    /// a good moment to make pending work durable.
    public func awaitInput(milliseconds: Int32) -> Bool { lines.awaitInput(milliseconds: milliseconds) }

    /// Decodes one line (without its newline); nil for a blank line.
    public static func decode(line: UnsafeBufferPointer<UInt8>) -> Result<
        RecordDecoder.Outcome?, RecordDecoder.Rejection
    > {
        decode(line: line, canonical: nil)
    }

    /// Decodes whole lines (without their newlines), canonical ones on the fast path: a spool's
    /// entries, which this tool wrote.
    public static func decode(lines: [[UInt8]]) -> [Result<RecordDecoder.Outcome?, RecordDecoder.Rejection>] {
        let canonical = CanonicalRecordDecoder()
        return lines.map { line in line.withUnsafeBufferPointer { decode(line: $0, canonical: canonical) } }
    }

    /// `canonical` tries plain canonical records first (it skips surrounding whitespace itself, and
    /// declines blank lines and a byte order mark); whatever it declines takes the general path.
    static func decode(line: UnsafeBufferPointer<UInt8>, canonical: CanonicalRecordDecoder?) -> Result<
        RecordDecoder.Outcome?, RecordDecoder.Rejection
    > {
        if let record = canonical?.decode(line) { return .success(.record(record)) }
        var end = line.count
        while end > 0, [0x20, 0x09, 0x0D].contains(line[end - 1]) { end -= 1 }
        var start = 0
        while start < end, [0x20, 0x09].contains(line[start]) { start += 1 }
        if start == end { return .success(nil) }
        let trimmed = UnsafeBufferPointer(rebasing: line[start..<end])
        if trimmed.count >= 3, trimmed[0] == 0xEF, trimmed[1] == 0xBB, trimmed[2] == 0xBF {
            return decode(line: UnsafeBufferPointer(rebasing: trimmed[3...]), canonical: canonical)
        }
        do {
            let value = try JSONParser.parse(trimmed, knownKeys: RecordDecoder.knownKeys)
            return .success(try RecordDecoder.decode(value))
        } catch let error as JSONParser.Failure {
            return .failure(.init("invalid JSON: \(error.message)"))
        } catch let error as RecordDecoder.Rejection {
            return .failure(error)
        } catch {
            return .failure(.init("\(error)"))
        }
    }

    /// Decodes a whole text (tests, small inputs); the same rules as reading a stream.
    public static func decodeAll(_ text: String) -> [Item] {
        var items: [Item] = []
        let canonical = CanonicalRecordDecoder()
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var copy = String(line)
            let outcome = copy.withUTF8 { decode(line: $0, canonical: canonical) }
            switch outcome {
            case .success(.some(.record(let record))): items.append(.record(record, line: offset + 1))
            case .success: continue
            case .failure(let rejection): items.append(.rejected(line: offset + 1, reason: rejection.reason))
            }
        }
        return items
    }
}

/// Splits a descriptor's bytes into lines without ever holding more than one bounded line.
final class LineReader {
    enum Line {
        /// The line's bytes are `range` of the buffer, valid until the next call to `next()`.
        case complete(number: Int, range: Range<Int>)
        case tooLong(number: Int)
    }

    let fileDescriptor: Int32
    let maximumLineLength: Int
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var lineNumber = 0
    private var atEnd = false

    init(fileDescriptor: Int32, maximumLineLength: Int) {
        self.fileDescriptor = fileDescriptor
        self.maximumLineLength = maximumLineLength
        buffer = [UInt8](repeating: 0, count: 256 * 1024)
    }

    func awaitInput(milliseconds: Int32) -> Bool {
        if atEnd || firstNewline() != nil { return true }
        var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        while true {
            // A wait without end is waiting for input; a short one only looks for a quiet moment
            // to make pending work durable, which an alarm must not cut short.
            let ready =
                milliseconds < 0
                ? StopDeadline.waitingForInput(on: fileDescriptor) { poll(&descriptor, 1, milliseconds) }
                : poll(&descriptor, 1, milliseconds)
            if ready >= 0 || errno != EINTR { return ready != 0 }
        }
    }

    func next() throws(IOError) -> Line? {
        var discarding = false
        while true {
            if let newline = firstNewline() {
                let range = start..<newline
                start = newline + 1
                lineNumber += 1
                if discarding || range.count > maximumLineLength { return .tooLong(number: lineNumber) }
                return .complete(number: lineNumber, range: range)
            }
            if end - start > maximumLineLength {
                // Drop what we have of an overlong line and keep skipping to its end.
                discarding = true
                start = 0
                end = 0
            }
            if atEnd {
                guard start < end || discarding else { return nil }
                lineNumber += 1
                let range = start..<end
                start = end
                if discarding { return .tooLong(number: lineNumber) }
                return .complete(number: lineNumber, range: range)
            }
            try fill()
        }
    }

    func withBytes<Result>(in range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        buffer.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    private func firstNewline() -> Int? {
        buffer.withUnsafeBufferPointer { pointer in
            guard start < end, let base = pointer.baseAddress else { return nil }
            guard let found = memchr(base + start, 0x0A, end - start) else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }

    private func fill() throws(IOError) {
        if start > 0 {
            let count = end - start
            if count > 0 {
                buffer.withUnsafeMutableBufferPointer { pointer in
                    guard let base = pointer.baseAddress else { return }
                    _ = memmove(base, base + start, count)
                }
            }
            start = 0
            end = count
        }
        if end == buffer.count {
            buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, maximumLineLength + 1)))
        }
        while true {
            let capacity = buffer.count - end
            let readCount = buffer.withUnsafeMutableBufferPointer { pointer -> Int in
                guard let base = pointer.baseAddress else { return 0 }
                return StopDeadline.waitingForInput(on: fileDescriptor) { read(fileDescriptor, base + end, capacity) }
            }
            if readCount > 0 {
                end += readCount
                return
            }
            if readCount == 0 {
                atEnd = true
                return
            }
            if errno == EINTR { continue }
            throw IOError(operation: "read", path: "standard input", code: errno)
        }
    }
}
