import Foundation
import HermesCore
import HermesTestSupport
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

    /// Runs `path` with `input` on stdin, through the shared runner; stdout and stderr together.
    static func run(_ path: String, _ arguments: [String], input: String = "") throws -> Outcome {
        let outcome = try ChildProcess.run(path, arguments, input: input)
        return Outcome(status: outcome.status, output: outcome.stdout + outcome.stderr)
    }
}
