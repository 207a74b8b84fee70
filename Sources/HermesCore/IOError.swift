import Glibc

/// A failed system call on a named file, with the errno text a user can act on.
public struct IOError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var code: Int32

    public init(operation: String, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String {
        "cannot \(operation) \(path): \(String(cString: strerror(code)))\(Self.advice(for: code))"
    }

    /// What to do about the errors a small box meets most: a full SD card, a quota, a file system
    /// the kernel remounted read-only after errors. The write that failed changed nothing already
    /// stored (temporary files and renames, transactions, cut-back appends).
    public static func advice(for code: Int32) -> String {
        switch code {
        case ENOSPC, EDQUOT:
            "; free space on that file system (or raise the quota), then run again: nothing stored before was changed, and the next run catches up"
        case EROFS:
            "; the file system is read-only (remounted after errors?): check it with fsck, remount it read-write, then run again"
        default: ""
        }
    }

    /// Whether the failure is about creating the output at all (73) rather than using it (74).
    public var isCannotCreate: Bool {
        ["open", "create", "create directory for"].contains(operation)
            && [EACCES, ENOENT, ENOTDIR, EROFS, EISDIR, EPERM, ENAMETOOLONG].contains(code)
    }

    public var exitCode: ExitCode { isCannotCreate ? .cannotCreate : .ioError }
}
