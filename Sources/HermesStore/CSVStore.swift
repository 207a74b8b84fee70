import Glibc
import HermesCore

/// Results in the Python Hermes CSV file. Appends and prunes hold an exclusive lock; pruning
/// rewrites through a temp file and rename. Failure records are not written: the format has no
/// place for them (SQLite keeps them).
public final class CSVStore: RecordStore {
    public let location: String
    /// Rows that could not be read back, as `path:line: reason`; reported by the caller.
    public private(set) var warnings: [String] = []

    public init(path: String) throws(StoreError) {
        location = path
        try storeIO { () throws(IOError) in try FileSystem.createParentDirectories(of: path) }
    }

    public func append(_ records: [Record], durable: Bool) throws(StoreError) {
        var rows: [UInt8] = []
        for case .result(let result) in records { rows.append(contentsOf: CSVFormat.row(result)) }
        guard !rows.isEmpty else { return }
        let file = try storeIO { () throws(IOError) in
            try LockedFile(path: location, flags: O_RDWR | O_CREAT | O_APPEND)
        }
        var output: [UInt8] = []
        if file.size == 0 {
            output = CSVFormat.headerLine
        } else {
            try checkHeader(of: file, refusing: "append")
            output = try repairTornTail(of: file)
        }
        output.append(contentsOf: rows)
        // The rows of one batch in one write(2). A write cut short (a kill, a full disk) can still
        // leave part of a row: on an error it is cut off here, after a kill by the next append.
        let before = file.size
        do throws(IOError) {
            try writeAll(output, to: file.descriptor, name: location)
            if durable && fsync(file.descriptor) != 0 && errno != EINVAL {
                throw IOError(operation: "sync", path: location, code: errno)
            }
        } catch {
            if file.size != before && ftruncate(file.descriptor, off_t(before)) != 0 {
                report?(
                    "\(location): could not cut off the partly written rows at byte \(before): \(String(cString: strerror(errno)))"
                )
            }
            throw StoreError.io(error)
        }
    }

    /// Where repairs are reported as they happen (standard error in hermes-store).
    public var report: ((String) -> Void)?

    /// A writer killed mid-write (or stopped by a full disk) leaves a fragment after the last line
    /// end. Under the lock, before anything is appended, it is cut off and reported with its size,
    /// offset and line, so every reader sees only whole rows. A fragment that is a whole row
    /// lacking only its line end (another program's last row) is kept, and ended: returned here
    /// as the bytes to write before our rows. Only the file's tail is read.
    private func repairTornTail(of file: LockedFile) throws(StoreError) -> [UInt8] {
        let size = file.size
        guard size > 0, file.lastByte() != 0x0A else { return [] }
        let window = min(size, 1 << 16)
        var tail = [UInt8](repeating: 0, count: window)
        let count = max(0, pread(file.descriptor, &tail, window, off_t(size - window)))
        guard let lastLineEnd = tail[0..<count].lastIndex(of: 0x0A) else { return [0x0D, 0x0A] }
        let fragment = Array(tail[(lastLineEnd + 1)..<count])
        let quotes = fragment.reduce(0) { $0 + ($1 == 0x22 ? 1 : 0) }
        if quotes % 2 == 0, let cells = CSVFormat.parse(fragment + [0x0D, 0x0A]).first?.cells,
            cells.count == CSVFormat.header.count
        {
            return [0x0D, 0x0A]
        }
        let offset = size - window + lastLineEnd + 1
        guard ftruncate(file.descriptor, off_t(offset)) == 0 else {
            throw StoreError.io(IOError(operation: "cut the torn row off", path: location, code: errno))
        }
        report?(
            "\(location): removed an unfinished row of \(fragment.count) byte(s) at offset \(offset), left by an interrupted writer"
        )
        return []
    }

    private func checkHeader(of file: LockedFile, refusing action: String) throws(StoreError) {
        var head = [UInt8](repeating: 0, count: 512)
        let count = max(0, pread(file.descriptor, &head, head.count, 0))
        var firstLine = Array(head[0..<count].prefix { $0 != 0x0A })
        if firstLine.last == 0x0D { firstLine.removeLast() }
        if firstLine.starts(with: [0xEF, 0xBB, 0xBF]) { firstLine.removeFirst(3) }
        guard firstLine == Array(CSVFormat.header.joined(separator: ",").utf8) else {
            throw StoreError.badFile(
                path: location, line: 1,
                reason:
                    "the header is not the Hermes CSV header (\(CSVFormat.header.joined(separator: ","))); refusing to \(action)"
            )
        }
    }

    public func applyRetention(_ policy: RetentionPolicy, now: Timestamp) throws(StoreError) -> Int {
        guard !policy.isUnlimited, FileSystem.exists(location) else { return 0 }
        let file = try storeIO { () throws(IOError) in try LockedFile(path: location, flags: O_RDONLY) }
        guard file.size > 0 else { return 0 }
        try checkHeader(of: file, refusing: "prune")
        let contents = try storeIO { () throws(IOError) in try FileSystem.readAll(file.descriptor, path: location) }
        let rows = readRows(contents)
        var keep = rows.map { _ in true }
        if let cutoff = policy.cutoff(now: now) {
            for (index, row) in rows.enumerated() {
                if let timestamp = row.timestamp, timestamp < cutoff { keep[index] = false }
            }
        }
        if let maximumRows = policy.maximumRows {
            // Rows whose time cannot be read are neither counted nor deleted: we cannot judge them.
            let newestFirst = rows.indices.filter { keep[$0] && rows[$0].timestamp != nil }.sorted {
                (rows[$0].timestamp?.millisecondsSinceEpoch ?? 0, $0) > (
                    rows[$1].timestamp?.millisecondsSinceEpoch ?? 0, $1
                )
            }
            for index in newestFirst.dropFirst(maximumRows) { keep[index] = false }
        }
        let removed = keep.filter { !$0 }.count
        guard removed > 0 else { return 0 }
        var output = CSVFormat.headerLine
        for (index, row) in rows.enumerated() where keep[index] { output.append(contentsOf: row.bytes) }
        try storeIO { () throws(IOError) in try FileSystem.atomicReplace(location, with: output) }
        return removed
    }

    public func query(_ query: RecordQuery) throws(StoreError) -> [Record] {
        guard query.kinds != .failure, FileSystem.exists(location) else { return [] }
        let file = try storeIO { () throws(IOError) in try LockedFile(path: location, flags: O_RDONLY) }
        guard file.size > 0 else { return [] }
        try checkHeader(of: file, refusing: "read it")
        let contents = try storeIO { () throws(IOError) in try FileSystem.readAll(file.descriptor, path: location) }
        let matching = readRows(contents).compactMap { row -> Record? in
            guard let result = row.result else { return nil }
            let record = Record.result(result)
            return query.matches(record) ? record : nil
        }
        // Stable sort: rows with equal timestamps keep file order.
        let ordered = matching.enumerated().sorted { lhs, rhs in
            if lhs.element.timestamp != rhs.element.timestamp {
                return query.chronological
                    ? lhs.element.timestamp < rhs.element.timestamp : lhs.element.timestamp > rhs.element.timestamp
            }
            return query.chronological ? lhs.offset < rhs.offset : lhs.offset > rhs.offset
        }.map(\.element)
        let page = ordered.dropFirst(query.offset)
        return Array(query.limit.map { page.prefix($0) } ?? page)
    }

    public func close() throws(StoreError) {}

    private struct Row {
        var bytes: [UInt8]
        var timestamp: Timestamp?
        var result: SpeedResult?
    }

    /// The data rows of the file, each with its original bytes so a rewrite keeps them exactly.
    private func readRows(_ contents: [UInt8]) -> [Row] {
        var rows: [Row] = []
        var start = 0
        var lineNumber = 0
        var lineStart = 1
        // Split on row boundaries (newlines outside quotes), keeping each row's bytes verbatim.
        var inQuotes = false
        for index in contents.indices {
            let byte = contents[index]
            if byte == 0x22 { inQuotes.toggle() }
            if byte == 0x0A { lineNumber += 1 }
            guard byte == 0x0A, !inQuotes else { continue }
            let bytes = Array(contents[start...index])
            start = index + 1
            defer { lineStart = lineNumber + 1 }
            if lineStart == 1 { continue }
            rows.append(contentsOf: parseRows(bytes, line: lineStart))
        }
        if start < contents.count {
            let rest = Array(contents[start...])
            rows.append(contentsOf: parseRows(rest.last == 0x0A ? rest : rest + [0x0D, 0x0A], line: lineStart))
        }
        return rows
    }

    /// One row, or, when a row that spans several lines cannot be read, each of its lines alone: a
    /// stray quote (one damaged byte) would otherwise join every line after it into one cell. Each
    /// line that cannot be read is reported with its number.
    private func parseRows(_ bytes: [UInt8], line: Int) -> [Row] {
        let whole = parseRow(bytes)
        if whole.row.result != nil || !bytes.dropLast().contains(0x0A) {
            if let reason = whole.failure { warnings.append("\(location):\(line): \(reason); row kept but not read") }
            return [whole.row]
        }
        var rows: [Row] = []
        var start = bytes.startIndex
        for (offset, index) in bytes.indices.filter({ bytes[$0] == 0x0A }).enumerated() {
            let single = parseRow(Array(bytes[start...index]))
            start = index + 1
            if let reason = single.failure {
                warnings.append("\(location):\(line + offset): \(reason); row kept but not read")
            }
            rows.append(single.row)
        }
        return rows
    }

    /// The row in `bytes` and, when it cannot be read, why (nothing for a blank line).
    private func parseRow(_ bytes: [UInt8]) -> (row: Row, failure: String?) {
        guard let cells = CSVFormat.parse(bytes).first?.cells else {
            return (Row(bytes: bytes, timestamp: nil, result: nil), nil)
        }
        do {
            let result = try CSVFormat.result(from: cells)
            return (Row(bytes: bytes, timestamp: result.timestamp, result: result), nil)
        } catch {
            return (Row(bytes: bytes, timestamp: try? Timestamp(rfc3339: cells[0]), result: nil), error.reason)
        }
    }
}
