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
