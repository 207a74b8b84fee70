import Foundation
import HermesTestSupport
import Testing

/// Runs a built Hermes executable as a user would, with stdin, environment and a deadline.
struct Executable {
    let url: URL

    static func named(_ name: String) throws -> Executable {
        let directory = try binaryDirectory()
        let url = directory.appendingPathComponent(name)
        try #require(
            FileManager.default.isExecutableFile(atPath: url.path), "\(name) is not built in \(directory.path)")
        return Executable(url: url)
    }

    /// `HERMES_BIN_DIR` when set; otherwise the directory of the test bundle, where SwiftPM puts
    /// the executables it built with the tests.
    static func binaryDirectory() throws -> URL {
        if let directory = ProcessInfo.processInfo.environment["HERMES_BIN_DIR"], !directory.isEmpty {
            return URL(fileURLWithPath: directory)
        }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("hermes-store").path) {
                return url
            }
        }
        throw BinaryNotFound()
    }

    struct BinaryNotFound: Error, CustomStringConvertible {
        var description: String { "built executables not found; set HERMES_BIN_DIR" }
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    /// Runs the tool without any Hermes or Python Hermes variables of the test's environment,
    /// plus `environment`; kills it (SIGKILL) after `timeout` seconds. Unless `environment` names
    /// one, the run gets a state directory of its own, removed afterwards: a default spool or
    /// state file never lands in the home directory or carries over to another test.
    @discardableResult
    func run(
        _ arguments: [String], stdin: String = "", environment: [String: String] = [:], timeout: TimeInterval = 60
    ) throws -> Outcome {
        var base = ProcessInfo.processInfo.environment
        for key in base.keys
        where key.hasPrefix("HERMES_") || key.hasPrefix("SQLITE_") || key.hasPrefix("CSV_") || key.hasPrefix("ALERT_")
            || key == "CREDENTIALS_DIRECTORY"
        {
            base[key] = nil
        }
        var environment = environment
        if environment["STATE_DIRECTORY"] == nil {
            let state = FileManager.default.temporaryDirectory.appendingPathComponent("hermes-state-\(UUID())").path
            environment["STATE_DIRECTORY"] = state
        }
        defer {
            if let state = environment["STATE_DIRECTORY"], state.contains("/hermes-state-") {
                try? FileManager.default.removeItem(atPath: state)
            }
        }
        let outcome = try ChildProcess.run(
            url.path, arguments, environment: base.merging(environment) { $1 }, input: stdin,
            timeout: .milliseconds(Int64(timeout * 1000)))
        if outcome.timedOut {
            Issue.record("\(url.lastPathComponent) \(arguments) did not finish within \(timeout) s")
        }
        if !outcome.outputComplete {
            Issue.record("\(url.lastPathComponent)'s output pipes stayed open after it exited")
        }
        return Outcome(status: outcome.status, stdout: outcome.stdout, stderr: outcome.stderr)
    }
}

/// The sqlite3 CLI, the independent reader of what hermes-store wrote.
func sqlite3(_ path: String, _ sql: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    process.arguments = [path, sql]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

func resultLine(_ index: Int, minute: Int = 0) -> String {
    let seconds = 1_777_636_800 + index * 60 + minute
    let date = Date(timeIntervalSince1970: TimeInterval(seconds))
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return
        #"{"v":1,"type":"result","timestamp":"\#(formatter.string(from: date))","download_mbps":\#(index % 900).5,"upload_mbps":40.25,"ping_ms":9.5,"jitter_ms":0.5,"isp_name":"ACME, \"Fibre\"","server_name":"Berlin-1","server_location":"Berlin, Germany","server_id":"1234"}"#
}
