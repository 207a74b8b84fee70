import Glibc
import HermesCore

/// The node_exporter textfile: read back for the last good values, replaced atomically.
public struct Textfile: Sendable {
    public let path: String
    /// The `--label` names every sample carries, set aside when the state is read back.
    public var labelNames: Set<String> = []

    public init(path: String, labelNames: Set<String> = []) {
        self.path = path
        self.labelNames = labelNames
    }

    /// The state recorded in the current file; an empty state when there is no file yet.
    public func readState() throws(ExportError) -> MetricState { try read().state }

    /// The state, and the lines that should have been samples but could not be read.
    public func read() throws(ExportError) -> (state: MetricState, damagedLines: [Int]) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return (MetricState(), []) }
            throw .textfile(IOError(operation: "read", path: path, code: errno))
        }
        defer { close(descriptor) }
        let contents: [UInt8]
        do throws(IOError) {
            contents = try FileSystem.readAll(descriptor, path: path)
        } catch {
            throw .textfile(error)
        }
        let text = String(decoding: contents, as: UTF8.self)
        return (ExpositionReader.state(from: text, ignoring: labelNames), ExpositionReader.damagedLines(in: text))
    }

    /// Writes `text` to a temporary file in the same directory (node_exporter reads only names
    /// ending in `.prom`, so it never sees the partial file), syncs it, and renames it over the
    /// old one: a scrape sees the old metrics or the new ones, never half of each.
    public func write(_ text: String) throws(ExportError) {
        do throws(IOError) {
            // The collector runs as another user (prometheus): keep the file world-readable.
            try FileSystem.atomicReplace(path, with: Array(text.utf8), mode: 0o644)
        } catch {
            throw .textfile(error)
        }
    }
}
