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
        "cannot \(operation) \(path): \(String(cString: strerror(code)))"
    }

    /// Whether the failure is about creating the output at all (73) rather than using it (74).
    public var isCannotCreate: Bool {
        ["open", "create", "create directory for"].contains(operation)
            && [EACCES, ENOENT, ENOTDIR, EROFS, EISDIR, EPERM, ENAMETOOLONG].contains(code)
    }

    public var exitCode: ExitCode { isCannotCreate ? .cannotCreate : .ioError }
}
