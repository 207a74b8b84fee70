import Foundation
import HermesTestSupport
import Testing

/// The .deb that scripts/package makes, installed with apt into a Debian 12 container booted with
/// systemd as its init (systemd-nspawn on a root made by mmdebstrap), and the timer's service run
/// there for real: the user, the hardening, the database, the textfile link, the journal, the exit
/// status systemd accepts, the run lock, the timer's schedule, a Python Hermes configuration and
/// database, and a purge that leaves nothing behind.
///
/// scripts/test builds the package and the container root (cached between runs) and names them in
/// HERMES_TEST_DEB and HERMES_TEST_CONTAINER_ROOT; the test needs root to boot a container.
@Suite(.serialized) struct DebianPackageTests {
    static let environment = ProcessInfo.processInfo.environment

    /// Why the container cannot run here, or nil when it can.
    static var missing: String? {
        if getuid() != 0 { return "booting a container needs root (CAP_SYS_ADMIN): run as root, as CI does" }
        if environment["HERMES_TEST_DEB"] == nil || environment["HERMES_TEST_CONTAINER_ROOT"] == nil {
            return
                "HERMES_TEST_DEB and HERMES_TEST_CONTAINER_ROOT are not set: scripts/test builds the package and the container root"
        }
        if ChildProcess.installed("systemd-nspawn") == nil {
            return "systemd-nspawn is not installed: apt-get install systemd-container (scripts/test does this)"
        }
        return nil
    }

    struct ContainerError: Error, CustomStringConvertible {
        let description: String
    }

    /// A booted container: its root on the host, nspawn, and its init's host pid for nsenter.
    final class Container {
        let root: String
        let nspawn: BackgroundProcess
        let initPID: Int32

        init(root: String) throws {
            self.root = root
            nspawn = try BackgroundProcess(
                "/usr/bin/systemd-nspawn",
                [
                    "-D", root, "--boot", "--register=no", "--keep-unit", "--private-network",
                    "--console=passive", "--machine=hermes-test",
                ])
            var pid: Int32?
            let deadline = ContinuousClock.now + .seconds(30)
            while pid == nil, ContinuousClock.now < deadline, nspawn.isRunning {
                pid = Self.child(of: nspawn.pid)
                if pid == nil { usleep(50_000) }
            }
            guard let pid else {
                nspawn.stop()
                throw ContainerError(description: "the container did not start: \(nspawn.outputText)")
            }
            initPID = pid
        }

        /// The first child of `parent`: nspawn's is the container's init.
        static func child(of parent: Int32) -> Int32? {
            guard
                let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(parent)/task")
            else { return nil }
            for task in tasks {
                let text = (try? String(contentsOfFile: "/proc/\(parent)/task/\(task)/children", encoding: .utf8)) ?? ""
                if let first = text.split(separator: " ").first, let pid = Int32(first) { return pid }
            }
            return nil
        }

        /// Runs `command` inside the container (all its namespaces), with a plain environment.
        @discardableResult
        func run(_ command: [String], timeout: Duration = .seconds(120)) throws -> ProcessOutcome {
            try ChildProcess.run(
                "/usr/bin/nsenter",
                [
                    "-t", String(initPID), "-a", "/usr/bin/env", "-i",
                    "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive",
                ]
                    + command, timeout: timeout)
        }

        func shell(_ script: String, timeout: Duration = .seconds(120)) throws -> ProcessOutcome {
            try run(["/bin/sh", "-c", script], timeout: timeout)
        }

        /// Halts it the way systemd-nspawn documents (SIGRTMIN+3 to the init), then makes sure.
        func stop() {
            kill(initPID, __libc_current_sigrtmin() + 3)
            let deadline = ContinuousClock.now + .seconds(30)
            while nspawn.isRunning, ContinuousClock.now < deadline { usleep(100_000) }
            if nspawn.isRunning { kill(initPID, SIGKILL) }
            nspawn.stop()
        }
    }

    /// Every path in the container's own file systems, but for what changes by itself.
    static func files(in container: Container) throws -> Set<String> {
        let outcome = try container.shell(
            "find / -xdev \\( -path /proc -o -path /sys -o -path /run -o -path /tmp -o -path /var/tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /var/lib/systemd \\) -prune -o -print"
        )
        #expect(outcome.status == 0, "\(outcome.stderr)")
        return Set(outcome.stdout.split(separator: "\n").map(String.init))
    }

    @Test(.enabled(if: missing == nil, "\(missing ?? "")"), .timeLimit(.minutes(10)))
    func theDebInstallsRunsAsTheTimerWouldAndPurgesClean() throws {
        let deb = try #require(Self.environment["HERMES_TEST_DEB"])
        let tarball = try #require(Self.environment["HERMES_TEST_CONTAINER_ROOT"])
        let directory = try TemporaryDirectory()
        let root = directory.file("root")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let unpacked = try ChildProcess.run("/bin/tar", ["-x", "-f", tarball, "-C", root], timeout: .seconds(120))
        try #require(unpacked.status == 0, "\(unpacked.stderr)")
        try FileManager.default.copyItem(atPath: deb, toPath: root + "/root/hermes.deb")
        try pythonDatabase(at: directory.file("hermes.db"))

        let container = try Container(root: root)
        defer { container.stop() }
        // Until the container's systemd is up, nsenter or its bus may not answer yet
        // ("offline", "initializing", "starting", or nothing): ask again until it settles.
        var state = try container.run(["systemctl", "is-system-running"], timeout: .seconds(30))
        let booted = ContinuousClock.now + .seconds(120)
        while !["running", "degraded", "maintenance"].contains(
            state.stdout.trimmingCharacters(in: .whitespacesAndNewlines)),
            ContinuousClock.now < booted
        {
            usleep(300_000)
            state = try container.run(["systemctl", "is-system-running"], timeout: .seconds(30))
        }
        let failedUnits = try container.run(["systemctl", "--failed", "--no-legend"]).stdout
        #expect(
            state.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "running",
            "the container's systemd: \(state.stdout) \(failedUnits)"
        )
        let before = try Self.files(in: container)

        // apt, offline: the root holds every dependency, so nothing is fetched.
        let installed = try container.run(["apt-get", "install", "-y", "/root/hermes.deb"])
        try #require(installed.status == 0, "apt-get install: \(installed.stdout)\n\(installed.stderr)")
        #expect(try container.run(["id", "-u", "hermes"]).status == 0, "the hermes user, from sysusers.d")
        let packaged = try container.run(["dpkg-query", "-W", "-f", "${Version}", "hermes"]).stdout
        let printed = try container.run(["hermes-measure", "--version"]).stdout
        #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == packaged, "one version")
        let link = try container.run(["readlink", "/var/lib/prometheus/node-exporter/hermes.prom"])
        #expect(link.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "/var/lib/hermes/hermes.prom")
        for unit in ["hermes.timer", "hermes-report.timer", "hermes-digest.timer"] {
            let enabled = try container.run(["systemctl", "is-enabled", unit])
            #expect(
                enabled.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "disabled",
                "\(unit): nothing is enabled unasked")
        }

        // The admin's configuration: a Python Hermes .env, with the server set to a hermes-target
        // in the container; and the Python Hermes database where that .env says it is.
        let target = try container.run([
            "systemd-run", "--unit=hermes-target", "--property=DynamicUser=yes", "/usr/bin/hermes-target", "--listen",
            "127.0.0.1:8080",
        ])
        #expect(target.status == 0, "\(target.stderr)")
        let environment = """
            # The Python Hermes .env, as it was
            SPEEDTEST_INTERVAL_MINUTES=30
            SQLITE_DB_PATH=data/hermes.db
            CSV_LOG_PATH=logs/results.csv
            ALERT_FAILURE_THRESHOLD=3
            # and where Hermes measures now
            HERMES_MEASURE_ENGINE=cloudflare
            HERMES_MEASURE_SERVER=http://127.0.0.1:8080
            HERMES_PROBE=container

            """
        try environment.write(toFile: root + "/etc/hermes/hermes.env", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(
            atPath: root + "/var/lib/hermes/data", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: directory.file("hermes.db"), toPath: root + "/var/lib/hermes/data/hermes.db")
        #expect(try container.run(["chown", "-R", "hermes:hermes", "/var/lib/hermes/data"]).status == 0)

        let enable = try container.run(["systemctl", "enable", "--now", "hermes.timer"])
        #expect(enable.status == 0, "\(enable.stderr)")
        let timers = try container.run(["systemctl", "list-timers", "--all", "hermes.timer", "--no-legend"])
        #expect(timers.stdout.contains("hermes.timer") && !timers.stdout.contains("n/a n/a"), "\(timers.stdout)")
        let delay = try container.run(["systemctl", "show", "-p", "RandomizedDelayUSec", "hermes.timer"])
        #expect(delay.stdout.contains("RandomizedDelayUSec=10min"), "\(delay.stdout)")

        // One run, as the timer starts it.
        let run = try container.run(["systemctl", "start", "hermes.service"], timeout: .seconds(180))
        #expect(run.status == 0, "\(run.stderr)")
        let result = try container.run(["systemctl", "show", "-p", "Result", "-p", "ExecMainStatus", "hermes.service"])
        #expect(
            result.stdout.contains("Result=success") && result.stdout.contains("ExecMainStatus=0"), "\(result.stdout)")
        let journal = try container.run(["journalctl", "-u", "hermes.service", "--no-pager", "-o", "cat"])
        #expect(!journal.stdout.lowercased().contains("permission denied"), "\(journal.stdout)")
        let rows = try container.run([
            "sqlite3", "/var/lib/hermes/data/hermes.db", "SELECT count(*), sum(type = 'result') FROM results",
        ])
        #expect(
            rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "4|4",
            "3 migrated + 1 measured: \(rows.stdout)")
        // The responsiveness test ran, as it does by default, and said nothing on success.
        let responsiveness = try container.run([
            "sqlite3", "/var/lib/hermes/data/hermes.db",
            "SELECT responsiveness_rpm > 0, responsiveness_confidence FROM results ORDER BY id DESC LIMIT 1",
        ])
        #expect(responsiveness.stdout.hasPrefix("1|"), "\(responsiveness.stdout)")
        #expect(!journal.stdout.contains("responsiveness"), "\(journal.stdout)")
        let owner = try container.run([
            "stat", "-c", "%U", "/var/lib/hermes/data/hermes.db", "/var/lib/hermes/hermes.prom",
        ])
        #expect(owner.stdout == "hermes\nhermes\n", "written as the hermes user: \(owner.stdout)")
        let metrics = try container.run(["cat", "/var/lib/prometheus/node-exporter/hermes.prom"])
        #expect(
            metrics.stdout.contains("\nhermes_last_run_success 1\n"), "through the tmpfiles link: \(metrics.stdout)")
        let scraped = try container.run(["curl", "-sf", "http://127.0.0.1:9100/metrics"])
        #expect(scraped.stdout.contains("hermes_last_run_success 1"), "node_exporter serves it")

        // A failed measurement is data, not a failure of the unit (SuccessExitStatus=1).
        try (environment + "HERMES_MEASURE_SERVER=http://127.0.0.1:9\n").write(
            toFile: root + "/etc/hermes/hermes.env", atomically: false, encoding: .utf8)
        let failing = try container.run(["systemctl", "start", "hermes.service"], timeout: .seconds(180))
        #expect(failing.status == 0, "\(failing.stderr)")
        let failed = try container.run(["systemctl", "show", "-p", "Result", "-p", "ExecMainStatus", "hermes.service"])
        #expect(
            failed.stdout.contains("Result=success") && failed.stdout.contains("ExecMainStatus=1"), "\(failed.stdout)")
        let failures = try container.run([
            "sqlite3", "/var/lib/hermes/data/hermes.db", "SELECT count(*) FROM results WHERE type = 'failure'",
        ])
        #expect(failures.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        let said = try container.run(["journalctl", "-u", "hermes.service", "--no-pager", "-o", "cat"])
        #expect(
            said.stdout.contains("hermes-measure: ") && said.stdout.contains("127.0.0.1:9"),
            "the tools' standard error is in the journal: \(said.stdout)")

        // One unit per link: hermes@LINK.service reads /etc/hermes/LINK.env after hermes.env (whose
        // server is down by now), writes a textfile of its own, links it for node_exporter on its
        // first run, and labels its samples, so that node_exporter serves both links and the
        // unlabelled hermes.prom beside them.
        for (link, settings) in [("wan1", "HERMES_MEASURE_INTERFACE=lo\n"), ("wan2", "")] {
            // The default responsiveness test ran above; here it would only add half a minute.
            let quick = "HERMES_MEASURE_RESPONSIVENESS=off\n"
            try ("HERMES_MEASURE_SERVER=http://127.0.0.1:8080\n" + quick + settings).write(
                toFile: root + "/etc/hermes/\(link).env", atomically: false, encoding: .utf8)
            let started = try container.run(["systemctl", "start", "hermes@\(link).service"], timeout: .seconds(180))
            #expect(started.status == 0, "\(started.stderr)")
            let shown = try container.run([
                "systemctl", "show", "-p", "Result", "-p", "ExecMainStatus", "hermes@\(link).service",
            ])
            #expect(
                shown.stdout.contains("Result=success") && shown.stdout.contains("ExecMainStatus=0"),
                "hermes@\(link): \(shown.stdout)")
            let linked = try container.run(["readlink", "/var/lib/prometheus/node-exporter/hermes-\(link).prom"])
            #expect(linked.stdout == "/var/lib/hermes/hermes-\(link).prom\n", "\(linked.stdout)\(linked.stderr)")
        }
        let paths = try container.run([
            "sqlite3", "/var/lib/hermes/data/hermes.db",
            "SELECT link, ifnull(interface, '-') FROM results WHERE link IS NOT NULL ORDER BY id",
        ])
        #expect(paths.stdout == "wan1|lo\nwan2|-\n", "\(paths.stdout)")
        let both = try container.run(["curl", "-sf", "http://127.0.0.1:9100/metrics"]).stdout
        let successes = both.split(separator: "\n").filter { $0.hasPrefix("hermes_last_run_success") }
        #expect(successes.count == 3, "hermes.prom and one series per link: \(successes)")
        for link in ["wan1", "wan2"] {
            #expect(successes.contains { $0.contains("link=\"\(link)\"") && $0.hasSuffix(" 1") }, "\(successes)")
        }
        #expect(both.contains("\nnode_textfile_scrape_error 0\n"))

        // Nothing failed: not the units, not systemd-tmpfiles applying the package's file.
        let tmpfiles = try container.run(["systemd-tmpfiles", "--create", "hermes.conf"])
        #expect(tmpfiles.status == 0, "\(tmpfiles.stderr)")
        let failedNow = try container.run(["systemctl", "--failed", "--no-legend"])
        #expect(failedNow.stdout.isEmpty, "failed units: \(failedNow.stdout)")

        // Two runs at once: the second hermes-measure waits on the first one's lock. The first is
        // held up by a target that answers slowly.
        try (environment + "HERMES_MEASURE_SERVER=http://127.0.0.1:8081\n").write(
            toFile: root + "/etc/hermes/hermes.env", atomically: false, encoding: .utf8)
        _ = try container.run([
            "systemd-run", "--unit=hermes-slow-target", "--property=DynamicUser=yes", "/usr/bin/hermes-target",
            "--listen", "127.0.0.1:8081", "--delay", "1500ms",
        ])
        #expect(try container.run(["systemctl", "start", "--no-block", "hermes.service"]).status == 0)
        // The second run starts once the first holds the run lock: flock -n then meets a conflict
        // (75). Only a lock file the service made is tried: one made here would be root's, and
        // the service's user could not open it.
        let lock = "/run/hermes/hermes-measure.lock"
        let held = try eventually(every: .milliseconds(100)) { () -> Bool? in
            try container.run(["sh", "-c", "test -e \(lock) && flock -n -E 75 \(lock) true"]).status == 75
                ? true : nil
        }
        #expect(held == true, "the service's hermes-measure never held its lock")
        let second = try container.run(
            [
                "systemd-run", "--wait", "--pipe", "--collect", "--unit=hermes-second", "--property=User=hermes",
                "--property=RuntimeDirectory=hermes", "--property=RuntimeDirectoryPreserve=yes",
                "--property=EnvironmentFile=/etc/hermes/hermes.env", "/usr/bin/hermes-measure", "--lock-wait", "2s",
            ], timeout: .seconds(120))
        #expect(
            second.stdout.contains("another speed test is in progress on this host")
                && second.stdout.contains("waited 2 s"),
            "the second run waited on the service's lock, then gave up: \(second.stdout) \(second.stderr)")
        #expect(try container.run(["systemctl", "is-active", "hermes.service"]).stdout.hasPrefix("activating"))
        _ = try container.run(["systemctl", "stop", "hermes.service"])

        // Purge: nothing of ours is left.
        let purged = try container.run(["apt-get", "purge", "-y", "hermes"])
        #expect(purged.status == 0, "\(purged.stderr)")
        #expect(
            purged.stdout.contains("hermes: removing /var/lib/hermes"), "purge says what it removes: \(purged.stdout)")
        _ = try container.run(["systemctl", "stop", "hermes-target", "hermes-slow-target"])
        let after = try Self.files(in: container)
        let left = after.subtracting(before).sorted()
        #expect(left.isEmpty, "left behind: \(left.prefix(20))")
    }

    /// In a container without systemd (a Docker image's kind), the package installs: its
    /// maintainer scripts do not need systemd running, and the user comes from the standalone
    /// systemd-sysusers the package accepts in place of systemd.
    @Test(.enabled(if: missing == nil, "\(missing ?? "")"), .timeLimit(.minutes(5)))
    func theDebInstallsWhereSystemdIsAbsent() throws {
        let deb = try #require(Self.environment["HERMES_TEST_DEB"])
        let tarball = try #require(Self.environment["HERMES_TEST_PLAIN_ROOT"])
        let directory = try TemporaryDirectory()
        let root = directory.file("root")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let unpacked = try ChildProcess.run("/bin/tar", ["-x", "-f", tarball, "-C", root], timeout: .seconds(120))
        try #require(unpacked.status == 0, "\(unpacked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/usr/lib/systemd/systemd"), "no systemd in this root")
        try FileManager.default.copyItem(atPath: deb, toPath: root + "/root/hermes.deb")
        func inside(_ command: [String]) throws -> ProcessOutcome {
            try ChildProcess.run(
                "/usr/bin/systemd-nspawn",
                [
                    "-D", root, "--quiet", "--register=no", "--keep-unit", "--private-network", "--pipe",
                    "--setenv=DEBIAN_FRONTEND=noninteractive",
                ] + command, timeout: .seconds(180))
        }
        let installed = try inside(["apt-get", "install", "-y", "/root/hermes.deb"])
        #expect(installed.status == 0, "\(installed.stdout)\n\(installed.stderr)")
        #expect(try inside(["id", "-u", "hermes"]).status == 0, "the user, from systemd-sysusers alone")
        let version = try inside(["hermes-store", "--version"])
        #expect(version.status == 0, "\(version.stderr)")
        let purged = try inside(["apt-get", "purge", "-y", "hermes"])
        #expect(purged.status == 0, "\(purged.stdout)\n\(purged.stderr)")
    }

    /// A Python Hermes database: its schema and three results.
    func pythonDatabase(at path: String) throws {
        let created = try ChildProcess.run(
            "/usr/bin/sqlite3",
            [
                path,
                """
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS results (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL,
                    download_mbps REAL NOT NULL, upload_mbps REAL NOT NULL, ping_ms REAL NOT NULL,
                    jitter_ms REAL, isp_name TEXT, server_name TEXT NOT NULL,
                    server_location TEXT NOT NULL, server_id INTEGER);
                CREATE INDEX IF NOT EXISTS idx_results_timestamp ON results(timestamp DESC);
                INSERT INTO results (timestamp, download_mbps, upload_mbps, ping_ms, jitter_ms, isp_name, server_name, server_location, server_id) VALUES
                  ('2026-05-01T14:00:00.123456+02:00', 100.0, 50.0, 12.5, 1.25, 'ACME', 'Berlin-1', 'Berlin, Germany', 1234),
                  ('2026-05-01T12:30:00+00:00', 90.5, 45.0, 13.0, NULL, NULL, 'Berlin-1', 'Berlin, Germany', NULL),
                  ('2026-05-01T08:45:00.5-04:00', 80.0, 40.0, 14.0, 2.0, 'ACME', 'NYC', 'New York, United States', 42);
                PRAGMA wal_checkpoint(TRUNCATE);
                """,
            ])
        try #require(created.status == 0, "\(created.stderr)")
    }
}
