import HermesCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The node_exporter textfile: read back for the last good values, replaced atomically.
public struct Textfile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The state recorded in the current file; an empty state when there is no file yet.
    public func readState() throws(ExportError) -> MetricState {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return MetricState() }
            throw .textfile(IOError(operation: "read", path: path, code: errno))
        }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while contents.count < 1 << 24 {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                contents.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                break
            } else if errno != EINTR {
                throw .textfile(IOError(operation: "read", path: path, code: errno))
            }
        }
        return ExpositionReader.state(from: String(decoding: contents, as: UTF8.self))
    }

    /// Writes `text` to a temporary file in the same directory (node_exporter reads only names
    /// ending in `.prom`, so it never sees the partial file), syncs it, and renames it over the
    /// old one: a scrape sees the old metrics or the new ones, never half of each.
    public func write(_ text: String) throws(ExportError) {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .textfile(IOError(operation: "create", path: temporary, code: errno))
        }
        // The collector runs as another user (prometheus): keep the file world-readable.
        fchmod(descriptor, 0o644)
        do throws(IOError) {
            try writeAll(Array(text.utf8), to: descriptor, name: temporary)
            if fsync(descriptor) != 0 { throw IOError(operation: "sync", path: temporary, code: errno) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw .textfile(error)
        }
        close(descriptor)
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            throw .textfile(IOError(operation: code == EISDIR ? "create" : "replace", path: path, code: code))
        }
        syncDirectory()
    }

    /// Makes the rename itself durable; failure only risks the old file after a power cut.
    private func syncDirectory() {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
