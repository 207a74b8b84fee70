import Glibc

/// The few file operations the tools need, wrapped once.
public enum FileSystem {
    public static func createParentDirectories(of path: String) throws(IOError) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        try createDirectories(String(path[..<slash]))
    }

    public static func createDirectories(_ directory: String) throws(IOError) {
        var prefix = directory.hasPrefix("/") ? "/" : ""
        for component in directory.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o750) != 0 && errno != EEXIST {
                throw IOError(operation: "create directory for", path: prefix, code: errno)
            }
            prefix += "/"
        }
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public static func readAll(_ fileDescriptor: Int32, path: String) throws(IOError) -> [UInt8] {
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fileDescriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                contents.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                return contents
            } else if errno != EINTR {
                throw IOError(operation: "read", path: path, code: errno)
            }
        }
    }

    /// Replaces `path` with `contents`: temp file in the same directory, fsync, rename, so a
    /// killed process leaves the old file or the new one, never a torn one. A symbolic link is
    /// followed and its target replaced: the link (node_exporter's textfile directory pointing
    /// into /var/lib/hermes, say) must keep pointing where it did.
    public static func atomicReplace(_ path: String, with contents: [UInt8], mode: mode_t? = nil) throws(IOError) {
        let path = try resolvingSymbolicLinks(path)
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw IOError(operation: "create", path: temporary, code: errno)
        }
        // The given mode, else the replaced file's, else 0644 (set explicitly: the umask may be tighter).
        var status = stat()
        let existingMode = stat(path, &status) == 0 ? status.st_mode & 0o7777 : nil
        fchmod(descriptor, mode ?? existingMode ?? 0o644)
        do throws(IOError) {
            try writeAll(contents, to: descriptor, name: temporary)
            if fsync(descriptor) != 0 { throw IOError(operation: "sync", path: temporary, code: errno) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            throw IOError(operation: code == EISDIR ? "create" : "replace", path: path, code: code)
        }
        syncDirectory(containing: path)
        removeAbandonedTemporaries(of: path)
    }

    /// `PATH.tmp-PID` files of writers that were killed before their rename (SIGKILL, a power
    /// cut): removed by the next writer once their process is gone.
    static func removeAbandonedTemporaries(of path: String) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        removeAbandonedTemporaries(in: directory, of: name)
    }

    /// The temporary files (`NAME.tmp-PID`) in `directory` whose writer is gone, of the file
    /// `name`, or of any file when `name` is nil (a directory of many, as the spool's queue).
    public static func removeAbandonedTemporaries(in directory: String, of name: String? = nil) {
        for entry in names(in: directory) {
            guard let marker = entry.firstRange(of: ".tmp-"), name.map({ entry[..<marker.lowerBound] == $0 }) ?? true,
                let pid = Int32(entry[marker.upperBound...]), pid != getpid()
            else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + "/" + entry) }
        }
    }

    /// The names in `directory`, without `.` and `..`; empty when it cannot be read.
    public static func names(in directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The file a chain of symbolic links ends at, which need not exist yet; `path` itself when
    /// it is not a link.
    public static func resolvingSymbolicLinks(_ path: String) throws(IOError) -> String {
        var current = path
        for _ in 0..<40 {
            var status = stat()
            guard lstat(current, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(current, &buffer, buffer.count - 1)
            guard length > 0 else { throw IOError(operation: "read the link", path: current, code: errno) }
            let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix("/") {
                current = target
            } else if let slash = current.lastIndex(of: "/") {
                current = String(current[...slash]) + target
            } else {
                current = target
            }
        }
        throw IOError(operation: "follow the links of", path: path, code: ELOOP)
    }

    /// Makes a rename durable; a failure only risks the old file coming back after a power cut.
    private static func syncDirectory(containing path: String) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}

/// An open file held under an exclusive `flock`, checked to still be the file at `path`:
/// another process (a pruner, an atomic replace) may have renamed a new file over it while we
/// waited for the lock.
public final class LockedFile {
    public let descriptor: Int32
    public let path: String

    public init(path: String, flags: Int32) throws(IOError) {
        self.path = path
        while true {
            let descriptor = open(path, flags | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw IOError(operation: "open", path: path, code: errno)
            }
            while flock(descriptor, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    let code = errno
                    close(descriptor)
                    throw IOError(operation: "lock", path: path, code: code)
                }
            }
            var opened = stat()
            var current = stat()
            if fstat(descriptor, &opened) == 0 && stat(path, &current) == 0
                && opened.st_ino == current.st_ino && opened.st_dev == current.st_dev
            {
                self.descriptor = descriptor
                return
            }
            close(descriptor)
        }
    }

    deinit {
        close(descriptor)
    }

    public var size: Int {
        var status = stat()
        return fstat(descriptor, &status) == 0 ? Int(status.st_size) : 0
    }

    public func lastByte() -> UInt8? {
        let size = self.size
        guard size > 0 else { return nil }
        var byte: UInt8 = 0
        return pread(descriptor, &byte, 1, off_t(size - 1)) == 1 ? byte : nil
    }
}
