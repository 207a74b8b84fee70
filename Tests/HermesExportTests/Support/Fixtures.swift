import Foundation
import HermesCore
import Testing

@testable import HermesExport

enum Fixtures {
    static let resultLine =
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00.123Z","download_mbps":936.5,"upload_mbps":40.25,"ping_ms":9.5,"jitter_ms":0.5,"isp_name":"ACME \"Fibre\" C:\\net\nline 2","server_name":"Berlin-1","server_location":"Berlin, Germany","server_id":"1234","engine":"cloudflare","probe":"home","download_latency_ms":25.5,"upload_latency_ms":31,"packet_loss_pct":0.5,"duration_ms":12345}"#
    static let failureLine =
        #"{"v":1,"type":"failure","timestamp":"2026-05-01T13:00:00.000Z","error":"could not resolve speed.example","error_kind":"dns","engine":"cloudflare","probe":"home"}"#

    static func record(_ line: String) throws -> Record {
        let items = RecordReader.decodeAll(line)
        guard case .record(let record, _) = try #require(items.first) else {
            Issue.record("not a record: \(line)")
            throw FixtureError()
        }
        return record
    }

    struct FixtureError: Error {}
}

/// A directory under /tmp, removed when the test ends.
final class ScratchDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "hermes-export-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    var entries: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path).sorted()) ?? [] }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Real Prometheus tools the tests run. scripts/test installs them (HERMES_APT_PACKAGES); a
/// missing one fails the test with the package to install, never skips it.
enum RealTool {
    static func path(_ name: String, package: String) throws -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        Issue.record("\(name) is not installed: apt-get install \(package) (scripts/test does this)")
        throw FixtureError()
    }

    struct FixtureError: Error {}

    struct Outcome {
        var status: Int32
        var output: String
    }

    /// Runs `path` with `input` on stdin; stdout and stderr together.
    static func run(_ path: String, _ arguments: [String], input: String = "") throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let stdin = Pipe()
        let output = Pipe()
        process.standardInput = stdin
        process.standardOutput = output
        process.standardError = output
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}

/// A loopback port that was free a moment ago.
func freeLoopbackPort() throws -> UInt16 {
    let (descriptor, port) = try bindLoopback(listening: false)
    close(descriptor)
    return port
}

/// A TCP socket bound to 127.0.0.1 on an ephemeral port, listening when asked.
func bindLoopback(listening: Bool) throws -> (descriptor: Int32, port: UInt16) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var reuse: Int32 = 1
    setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && (!listening || listen(descriptor, 16) == 0)
                && getsockname(descriptor, $0, &length) == 0
        }
    }
    guard bound else {
        close(descriptor)
        Issue.record("cannot bind a loopback port: errno \(errno)")
        throw RealTool.FixtureError()
    }
    return (descriptor, UInt16(bigEndian: address.sin_port))
}
