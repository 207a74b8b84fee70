import Foundation
import HermesCore
import HermesTarget
import HermesTestSupport
import Testing

/// Three servers in one run, the middle one down, through the whole pipeline (measure | store |
/// export | alert) on loopback: three records in order, three series in the database, the
/// textfile and the alert state, one alert naming the failing server; and when it is back, one
/// recovery for that server alone.
@Suite struct PathsPipelineTests {
    /// A loopback port nothing listens on (bound once, then released).
    static func freePort() throws -> UInt16 {
        let probe = try TargetServer(configuration: TargetConfiguration(port: 0))
        defer { probe.stop() }
        return probe.port
    }

    @Test func threeServersOneDownAreThreeSeries() throws {
        let first = try TargetServer.startOnLoopback()
        let third = try TargetServer.startOnLoopback()
        defer {
            first.stop()
            third.stop()
        }
        let middlePort = try Self.freePort()
        let middle = "http://127.0.0.1:\(middlePort)"
        let servers = [first.baseURL, middle, third.baseURL]
        let hook = try TestServer.start { _ in .ok("") }
        defer { hook.stop() }
        let directory = try TemporaryDirectory()
        let binaries = try Executable.binaryDirectory().path
        let script = """
            set -o pipefail
            '\(binaries)/hermes-measure' \(servers.map { "--server '\($0)'" }.joined(separator: " ")) \
                --duration 200ms --max-bytes 1000000 --timeout 10s --probe pi --link wan1 \
                --state-directory '\(directory.file("measure"))' |
                tee -a '\(directory.file("measured.jsonl"))' |
                '\(binaries)/hermes-store' --sqlite '\(directory.file("h.db"))' --tee |
                '\(binaries)/hermes-export' --textfile '\(directory.file("h.prom"))' --tee |
                '\(binaries)/hermes-alert' --state '\(directory.file("alert.json"))' --allow-private-targets \
                    --webhook-url '\(hook.baseURL)/hook' --failure-threshold 1
            """
        var run = try ChildProcess.run("/bin/bash", ["-c", script], timeout: .seconds(90))
        #expect(run.status == 1, "hermes-measure exits 1 when any server failed: \(run.stderr)")
        #expect(run.stderr.contains("hermes-measure: 1 of 3 servers failed; first: "), "\(run.stderr)")

        let records = try String(contentsOfFile: directory.file("measured.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { line -> Record in
                guard case .record(let record) = try RecordDecoder.decode(JSONParser.parse(String(line))) else {
                    throw SetupFailed(description: "not a record: \(line)")
                }
                return record
            }
        #expect(records.map(\.kind) == [.result, .failure, .result])
        #expect(records.map { $0.values[.serverURL].text } == servers)
        #expect(records.allSatisfy { $0.values[.link].text == "wan1" })
        #expect(records[1].values[.errorKind].text == "connect")

        // The database answers per server and per link.
        let store = try Executable.named("hermes-store")
        let middleRows = try store.run([
            "query", "--sqlite", directory.file("h.db"), "--type", "all", "--server", middle,
        ])
        #expect(middleRows.stdout.split(separator: "\n").count == 1, "\(middleRows.stdout)\(middleRows.stderr)")
        #expect(middleRows.stdout.contains(#""type":"failure""#))
        let wan1 = try store.run(["query", "--sqlite", directory.file("h.db"), "--link", "wan1"])
        #expect(wan1.stdout.split(separator: "\n").count == 2)
        let none = try store.run(["query", "--sqlite", directory.file("h.db"), "--link", "wan2", "--type", "all"])
        #expect(none.status == 0 && none.stdout.isEmpty)

        // The textfile: one set of samples per server; only the middle one failed.
        var textfile = try String(contentsOfFile: directory.file("h.prom"), encoding: .utf8)
        func success(_ server: String) -> String {
            #"hermes_last_run_success{probe="pi",link="wan1",server="\#(server)"}"#
        }
        #expect(textfile.contains(success(first.baseURL) + " 1\n"), "\(textfile)")
        #expect(textfile.contains(success(middle) + " 0\n"))
        #expect(textfile.contains(success(third.baseURL) + " 1\n"))
        if let promtool = ChildProcess.installed("promtool") {
            let check = try ChildProcess.run(promtool, ["check", "metrics"], input: textfile)
            #expect(check.status == 0, "promtool: \(check.stdout) \(check.stderr)")
        }

        // One alert, for the middle server, naming it.
        var bodies = hook.requests.map { String(decoding: $0.bodyPrefix, as: UTF8.self) }
        #expect(bodies.count == 1, "\(bodies)")
        #expect(bodies.first?.contains(#""event":"failure""#) == true)
        #expect(bodies.first?.contains("Speedtest failure (1 consecutive) on wan1") == true, "\(bodies)")
        #expect(bodies.first?.contains("(link wan1, server \(middle))") == true)

        // The middle server comes back: one recovery, for it alone.
        let back = try TargetServer(configuration: TargetConfiguration(port: middlePort))
        back.start()
        defer { back.stop() }
        run = try ChildProcess.run("/bin/bash", ["-c", script], timeout: .seconds(90))
        #expect(run.status == 0, "\(run.stderr)")
        bodies = hook.requests.map { String(decoding: $0.bodyPrefix, as: UTF8.self) }
        #expect(bodies.count == 2, "\(bodies)")
        #expect(bodies.last?.contains(#""event":"recovery""#) == true)
        #expect(bodies.last?.contains("server \(middle)") == true, "\(bodies.last ?? "")")
        textfile = try String(contentsOfFile: directory.file("h.prom"), encoding: .utf8)
        #expect(textfile.contains(success(middle) + " 1\n"))
        #expect(
            textfile.contains(
                #"hermes_measurements_total{probe="pi",link="wan1",server="\#(middle)",result="failure"} 1"#))
        #expect(
            textfile.contains(
                #"hermes_measurements_total{probe="pi",link="wan1",server="\#(first.baseURL)",result="success"} 2"#))

        let status = try Executable.named("hermes-alert").run(["status", "--state", directory.file("alert.json")])
        #expect(status.stdout.contains("series: 3"), "\(status.stdout)")
        #expect(status.stdout.contains("series: probe pi, link wan1, server \(middle)"))
    }
}
