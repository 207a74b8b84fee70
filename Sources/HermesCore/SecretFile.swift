import Glibc

/// A secret read from a file: `--…-file PATH`, else `$CREDENTIALS_DIRECTORY/NAME` (systemd's
/// `LoadCredential=`). The value is never part of a message.
public enum SecretFile {
    public static func read(
        path: String?, credential: String, environment: Environment
    ) throws(ConfigurationError) -> String? {
        guard let file = location(path: path, credential: credential, environment: environment) else { return nil }
        var contents = try bytes(of: file)
        while let last = contents.last, last == 0x0A || last == 0x0D { contents.removeLast() }
        guard !contents.isEmpty else { throw ConfigurationError("secret file \(file) is empty") }
        guard !contents.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) else {
            throw ConfigurationError("secret file \(file) must hold one line")
        }
        return String(decoding: contents, as: UTF8.self)
    }

    /// Several secrets, one a line, from the same places as `read`: blank lines and lines
    /// starting with `#` are skipped, surrounding spaces dropped. A file with none is an error.
    public static func readLines(
        path: String?, credential: String, environment: Environment
    ) throws(ConfigurationError) -> [String]? {
        guard let file = location(path: path, credential: credential, environment: environment) else { return nil }
        let contents = try bytes(of: file)
        guard !contents.contains(0) else { throw ConfigurationError("secret file \(file) is not text") }
        let lines = contents.split(separator: 0x0A).compactMap { line -> String? in
            let text = String(decoding: line, as: UTF8.self).trimming(" \t\r")
            return text.isEmpty || text.hasPrefix("#") ? nil : text
        }
        guard !lines.isEmpty else { throw ConfigurationError("secret file \(file) has no entries") }
        return lines
    }

    /// `path` when given, else the credential when systemd passed it, else nil.
    private static func location(path: String?, credential: String, environment: Environment) -> String? {
        if let path, !path.isEmpty { return path }
        guard let directory = environment.first("CREDENTIALS_DIRECTORY")?.value else { return nil }
        let file = directory + "/" + credential
        return access(file, F_OK) == 0 ? file : nil
    }

    /// The file's bytes, at most 64 KiB.
    private static func bytes(of file: String) throws(ConfigurationError) -> [UInt8] {
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
        guard contents.count <= 64 * 1024 else { throw ConfigurationError("secret file \(file) is over 64 KiB") }
        return contents
    }
}
