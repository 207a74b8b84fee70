import Foundation
import HermesTestSupport
import Testing

/// The pipeline of the installed hermes.service, run as its ExecStart runs it, against hermes-target
/// on loopback, with the real node_exporter and Prometheus reading what it writes and a local
/// ntfy receiver getting its alerts.
@Suite struct ServicePipelineTests {
    /// Where a tool the test needs lives, or a failure naming the package to install.
    static func installed(_ name: String, package: String) throws -> String {
        try #require(
            ChildProcess.installed(name),
            "\(name) is not installed: apt-get install \(package) (scripts/test does this)")
    }

    /// The body of a GET, or nil when the server does not answer 2xx.
    static func get(_ url: String, query: String? = nil) throws -> String? {
        var arguments = ["-s", "-f", "-m", "5", url]
        if let query { arguments = ["-G", "--data-urlencode", "query=" + query] + arguments }
        let outcome = try ChildProcess.run("/usr/bin/curl", arguments, timeout: .seconds(10))
        return outcome.status == 0 ? outcome.stdout : nil
    }

    /// Installs this build with `scripts/install --prefix /usr --destdir DESTDIR`, as a package
    /// would, and returns the script the installed unit's ExecStart hands to bash: systemd's %S
    /// filled in and the installed binaries' paths under DESTDIR. hermes-measure gets a short
    /// --duration and --max-bytes so that the test stays quick; nothing else differs from the unit.
    static func installedServiceScript(destdir: String, stateRoot: String) throws -> (
        script: String, unit: SystemdUnit
    ) {
        let install = try InstallTests.script(
            "install", ["--prefix", "/usr", "--destdir", destdir, "--bin-dir", try Executable.binaryDirectory().path])
        try #require(install.status == 0, "scripts/install: \(install.stderr)")
        let path = destdir + "/usr/lib/systemd/system/hermes.service"
        let unit = SystemdUnit(text: try String(contentsOfFile: path, encoding: .utf8))
        let execStart = try #require(unit.values("ExecStart", in: "Service").first)
        var script = try #require(SystemdUnit.bashScript(ofExecStart: execStart, stateRoot: stateRoot))
        try #require(script.hasPrefix("/usr/bin/hermes-measure "), "\(script)")
        script = script.replacingOccurrences(of: "/usr/bin/", with: destdir + "/usr/bin/")
        let measure = destdir + "/usr/bin/hermes-measure "
        script = measure + "--duration 2 --max-bytes 20000000 " + script.dropFirst(measure.count)
        return (script, unit)
    }

    @Test func theServicePipelineStoresExportsAndAlerts() throws {
        let nodeExporter = try Self.installed("prometheus-node-exporter", package: "prometheus-node-exporter")
        let prometheus = try Self.installed("prometheus", package: "prometheus")
        for tool in InstallTests.tools { _ = try Executable.named(tool) }
        let root = try TemporaryDirectory()
        let (script, unit) = try Self.installedServiceScript(destdir: root.file("install"), stateRoot: root.file("lib"))
        let binaries = root.file("install/usr/bin")

        // What systemd sets up before ExecStart: StateDirectory=, RuntimeDirectory=,
        // LoadCredential= (the ntfy token) and WorkingDirectory=; and the link the installer makes.
        let state = root.file("lib/hermes")
        let files = FileManager.default
        for directory in [state, root.file("run/hermes"), root.file("credentials"), root.file("node-exporter")] {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try "tk_e2e_token\n".write(toFile: root.file("credentials/ntfy-token"), atomically: false, encoding: .utf8)
        try files.createSymbolicLink(
            atPath: root.file("node-exporter/hermes.prom"), withDestinationPath: state + "/hermes.prom")

        // The server is down for the first two runs and back for the third: one series, as a
        // server's outage and recovery are (a series is probe, link and server).
        let targetPort = try closedLoopbackPort()
        let ntfy = try TestServer.start { _ in .ok(#"{"id":"e2e"}"#) }
        defer { ntfy.stop() }

        let exporterPort = try closedLoopbackPort()
        let exporter = try BackgroundProcess(
            nodeExporter,
            [
                "--collector.disable-defaults", "--collector.textfile",
                "--collector.textfile.directory=\(root.file("node-exporter"))",
                "--web.listen-address=127.0.0.1:\(exporterPort)",
            ])
        let prometheusPort = try closedLoopbackPort()
        let configuration = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: node
                static_configs:
                  - targets: ["127.0.0.1:\(exporterPort)"]
            """
        try configuration.write(toFile: root.file("prometheus.yml"), atomically: false, encoding: .utf8)
        let server = try BackgroundProcess(
            prometheus,
            [
                "--config.file=\(root.file("prometheus.yml"))", "--storage.tsdb.path=\(root.file("tsdb"))",
                "--web.listen-address=127.0.0.1:\(prometheusPort)",
            ])
        defer {
            for process in [exporter, server] { process.stop() }
        }

        // The environment a Python Hermes .env would give through EnvironmentFile=, relative
        // CSV path included; only what systemd itself adds comes on top.
        func run(server measureServer: String) throws -> ProcessOutcome {
            let environment = [
                "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": state, "STATE_DIRECTORY": state,
                "RUNTIME_DIRECTORY": root.file("run/hermes"), "CREDENTIALS_DIRECTORY": root.file("credentials"),
                "HERMES_MEASURE_ENGINE": "cloudflare", "HERMES_MEASURE_SERVER": measureServer, "HERMES_PROBE": "e2e",
                "CSV_LOG_PATH": "logs/results.csv", "ALERT_FAILURE_THRESHOLD": "2", "ALERT_NTFY_URL": ntfy.baseURL,
                "ALERT_NTFY_TOPIC": "hermes-e2e", "HERMES_ALERT_ALLOW_PRIVATE_TARGETS": "1",
            ]
            return try ChildProcess.run(
                "/bin/bash", ["-o", "pipefail", "-c", script], environment: environment, currentDirectory: state,
                timeout: .seconds(60))
        }
        // systemd counts 0 and the unit's SuccessExitStatus= as success.
        let successStatuses = Set([0] + unit.words("SuccessExitStatus", in: "Service").compactMap { Int32($0) })

        // Two failed measurements: stored, exported, and the second reaches the threshold.
        for attempt in 1...2 {
            let failed = try run(server: "http://127.0.0.1:\(targetPort)")
            #expect(failed.status == 1, "run \(attempt): \(failed.stderr)")
            #expect(successStatuses.contains(failed.status), "a failed measurement must not fail the unit")
            #expect(ntfy.requests.count == attempt - 1, "run \(attempt)")
        }
        let alert = try #require(ntfy.requests.first)
        #expect(alert.path == "/hermes-e2e")
        #expect(alert.header("Authorization") == "Bearer tk_e2e_token", "the token comes from the credential")
        #expect(String(decoding: alert.bodyPrefix, as: UTF8.self).contains("127.0.0.1:\(targetPort)"))

        // The server is back: a good measurement, the recovery, and the result everywhere.
        let target = try BackgroundProcess(binaries + "/hermes-target", ["--listen", "127.0.0.1:\(targetPort)"])
        defer { target.stop() }
        try #require(
            target.waitForOutput(containing: "listening", timeout: .seconds(10)) != nil,
            "hermes-target: \(target.outputText)")
        let good = try run(server: "http://127.0.0.1:\(targetPort)")
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.isEmpty, "hermes-alert is the last stage and prints nothing")
        #expect(ntfy.requests.count == 2)
        #expect(ntfy.requests.last?.header("Tags")?.contains("white_check_mark") == true, "the recovery")

        let database = state + "/hermes.db"
        #expect(
            try sqlite3(database, "SELECT group_concat(type) FROM (SELECT type FROM results ORDER BY id)")
                == "failure,failure,result")
        let stored = try #require(
            Double(try sqlite3(database, "SELECT download_mbps FROM results WHERE type = 'result'")))
        #expect(stored > 0)
        let csv = try String(contentsOfFile: state + "/logs/results.csv", encoding: .utf8)
        let rows = csv.split(separator: "\r\n")
        #expect(rows.count == 2, "the Python Hermes header and the one result: \(csv)")
        #expect(rows.last?.contains(String(stored)) == true, "\(csv)")

        let bytesPerSecond = stored * 125_000
        let served = try eventually(within: .seconds(30)) {
            try Self.get("http://127.0.0.1:\(exporterPort)/metrics").flatMap { metrics in
                metrics.contains("\nhermes_last_run_success 1\n") ? metrics : nil
            }
        }
        let metrics = try #require(served, "node_exporter never served the result; \(exporter.outputText)")
        #expect(metrics.contains("\nnode_textfile_scrape_error 0\n"), "the link is read like a file")

        let scraped = try eventually(within: .seconds(60)) { () -> Double? in
            guard
                let body = try Self.get(
                    "http://127.0.0.1:\(prometheusPort)/api/v1/query", query: "hermes_download_bytes_per_second"),
                let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                let data = object["data"] as? [String: Any], let result = data["result"] as? [[String: Any]],
                let value = result.first?["value"] as? [Any], let text = value.last as? String
            else { return nil }
            return Double(text)
        }
        let value = try #require(scraped, "Prometheus never returned the download; \(server.outputText.suffix(2000))")
        #expect(abs(value - bytesPerSecond) <= bytesPerSecond * 1e-9, "Prometheus \(value), stored \(bytesPerSecond)")

        // Every query of the dashboard is valid PromQL to this Prometheus.
        for query in try DashboardTests.queries() where query.datasource == "prometheus" {
            guard query.expression.firstMatch(of: /label_values\(/) == nil else { continue }
            // Grafana's own variables, as it would fill them in for a panel.
            // "All" of link and server must also match the unlabelled series of a one-path probe.
            var promql = query.expression
            for variable in ["$instance", "$link", "$server"] {
                promql = promql.replacingOccurrences(of: variable, with: ".*")
            }
            promql = promql.replacingOccurrences(of: "$__interval", with: "1h")
            let body = try Self.get("http://127.0.0.1:\(prometheusPort)/api/v1/query", query: promql)
            #expect(body?.contains(#""status":"success""#) == true, "Prometheus refused \(promql): \(body ?? "")")
            if promql.hasPrefix("hermes_download_bytes_per_second{") {
                #expect(body?.contains(#""result":[{"#) == true, "no series for \(promql): \(body ?? "")")
            }
        }
    }
}
