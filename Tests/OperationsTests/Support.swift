import Foundation
import HermesTestSupport
import Testing

enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func text(_ path: String) throws -> String {
        try String(contentsOfFile: root + "/" + path, encoding: .utf8)
    }

    static func unit(_ name: String) throws -> SystemdUnit {
        SystemdUnit(text: try text("systemd/" + name))
    }

    /// The text of every Swift file under Sources/.
    static func sources() throws -> [String] {
        let directory = root + "/Sources"
        let paths = FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? []
        return try paths.filter { $0.hasSuffix(".swift") }.map {
            try String(contentsOfFile: directory + "/" + $0, encoding: .utf8)
        }
    }
}

/// A systemd tool the tests run. scripts/test installs the systemd package; a missing tool
/// fails the test with the package to install, never skips it.
func systemdTool(_ name: String) throws -> String {
    try #require(
        ChildProcess.installed(name), "\(name) is not installed: apt-get install systemd (scripts/test does this)")
}

/// A directory under /tmp, removed when the test ends.
final class ScratchDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "hermes-operations-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` below the directory, creating what is missing on the way.
    @discardableResult
    func write(_ text: String, to name: String) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
