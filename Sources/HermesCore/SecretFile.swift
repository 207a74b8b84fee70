#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A secret read from a file: `--…-file PATH`, else `$CREDENTIALS_DIRECTORY/NAME` (systemd's
/// `LoadCredential=`). The value is never part of a message.
public enum SecretFile {
    public static func read(
        path: String?, credential: String, environment: Environment
    ) throws(ConfigurationError) -> String? {
        let file: String
        if let path, !path.isEmpty {
            file = path
        } else if let directory = environment.first("CREDENTIALS_DIRECTORY")?.value {
            file = directory + "/" + credential
            guard access(file, F_OK) == 0 else { return nil }
        } else {
            return nil
        }
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ConfigurationError(IOError(operation: "read secret file", path: file, code: errno).description)
        }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while contents.count <= 64 * 1024 {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                contents.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                break
            } else if errno != EINTR {
                throw ConfigurationError(IOError(operation: "read secret file", path: file, code: errno).description)
            }
        }
        while let last = contents.last, last == 0x0A || last == 0x0D { contents.removeLast() }
        guard !contents.isEmpty else { throw ConfigurationError("secret file \(file) is empty") }
        guard contents.count <= 64 * 1024, !contents.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) else {
            throw ConfigurationError("secret file \(file) must hold one line")
        }
        return String(decoding: contents, as: UTF8.self)
    }
}
