import Foundation
import HermesTestSupport
import Testing

/// A clock that jumps between runs, as a Raspberry Pi's does when NTP corrects it after a boot
/// without a real-time clock: forward a day, back again, back an hour. Each run is the service's
/// pipeline under faketime (Debian's libfaketime), failing fast against a closed port.
@Suite struct ClockFaultTests {
    @Test func runsUnderAJumpingClockKeepEveryRecordAndFollowTheLatestRun() throws {
        let faketime = try #require(
            ChildProcess.installed("faketime"), "apt-get install faketime (scripts/test does this)")
        let webhook = try TestServer.start { _ in .ok("{}") }
        defer { webhook.stop() }
        let directory = try TemporaryDirectory()
        let binaries = try Executable.binaryDirectory().path
        let closed = try closedLoopbackPort()
        let database = directory.file("hermes.db")
        let textfile = directory.file("hermes.prom")
        let pipeline = [
            "\(binaries)/hermes-measure --engine cloudflare --server http://127.0.0.1:\(closed) --state-directory \(directory.path)",
            "\(binaries)/hermes-store --sqlite \(database) --tee",
            "\(binaries)/hermes-export --textfile \(textfile) --no-spool --tee",
            "\(binaries)/hermes-alert --state \(directory.file("alert.json")) --webhook-url \(webhook.baseURL) --allow-private-targets --failure-threshold 1 --cooldown 1h",
        ].joined(separator: " | ")
        var lastRuns: [Double] = []
        var notified: [Int] = []
        for offset in ["+0", "+1d", "+0", "-1h", "+0"] {
            // NTP moves the wall clock only: the boot clock keeps counting (libfaketime would
            // shift it too unless told not to).
            let run = try ChildProcess.run(
                "/usr/bin/env",
                [
                    "FAKETIME_DONT_FAKE_MONOTONIC=1", faketime, "-f", offset, "/bin/bash", "-o", "pipefail", "-c",
                    pipeline,
                ],
                timeout: .seconds(60))
            #expect(run.status == 1, "a failed measurement, nothing else (offset \(offset)): \(run.stderr)")
            let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
            let line = try #require(metrics.firstMatch(of: /\nhermes_last_run_timestamp_seconds ([0-9.]+)\n/))
            lastRuns.append(Double(line.1) ?? 0)
            notified.append(webhook.requests.count)
        }
        // Every record is kept, in the order the runs made them, with the time each run's clock gave.
        let stored = try sqlite3(database, "SELECT timestamp FROM results ORDER BY id").split(separator: "\n")
        #expect(stored.count == 5)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let seconds = try stored.map { text in try #require(formatter.date(from: String(text))).timeIntervalSince1970 }
        #expect(seconds[1] - seconds[0] > 86_000, "the run a day ahead")
        #expect(seconds[3] < seconds[2] - 3_000, "the run an hour behind")
        // hermes_last_run_timestamp_seconds is always the latest run, the one a day ahead included:
        // a time kept from a clock more than 10 minutes fast no longer holds the next run back.
        for (index, value) in lastRuns.enumerated() {
            #expect(abs(value - seconds[index]) < 0.002, "run \(index): \(value) vs \(seconds[index])")
        }
        // One alert when the failures start, and no repeat: the runs are seconds apart on the
        // boot clock, which the cooldown counts on within a boot, whatever the wall clock says.
        #expect(notified == [1, 1, 1, 1, 1], "notifications after each run: \(notified)")
    }

    /// Retention counts back from the clock of the run (hermes-store(1), "A wrong clock"): a run
    /// a day fast deletes at the old end a day early, nothing newer, and the record it made stays
    /// once the clock is right again.
    @Test func retentionUnderAFastClockDeletesOnlyAtTheOldEnd() throws {
        let faketime = try #require(
            ChildProcess.installed("faketime"), "apt-get install faketime (scripts/test does this)")
        let directory = try TemporaryDirectory()
        let database = directory.file("hermes.db")
        let binary = try Executable.named("hermes-store").url.path
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let now = Date()
        func line(_ hoursFromNow: Double) -> String {
            let time = formatter.string(from: now.addingTimeInterval(hoursFromNow * 3600))
            return
                #"{"v":1,"type":"result","timestamp":"\#(time)","download_mbps":\#(100 + hoursFromNow),"upload_mbps":1,"ping_ms":2}"#
        }
        func store(_ clock: String, _ hours: [Double]) throws -> ProcessOutcome {
            try ChildProcess.run(
                "/usr/bin/env",
                [
                    "FAKETIME_DONT_FAKE_MONOTONIC=1", faketime, "-f", clock, binary, "--sqlite", database,
                    "--retention-days", "2",
                ],
                input: hours.map(line).joined(separator: "\n") + "\n")
        }
        func kept() throws -> [String] {
            try sqlite3(database, "SELECT download_mbps FROM results ORDER BY timestamp").split(separator: "\n").map(
                String.init)
        }
        let first = try store("+0", [-60, -36, -12, -1])
        #expect(first.status == 0, "\(first.stderr)")
        // The download says when: 100 + hours from now.
        #expect(try kept() == ["64.0", "88.0", "99.0"], "two days back from the right clock")
        let fast = try store("+1d", [24])
        #expect(fast.status == 0, "\(fast.stderr)")
        #expect(try kept() == ["88.0", "99.0", "124.0"], "two days back from a clock a day fast")
        let right = try store("+0", [0.1])
        #expect(right.status == 0, "\(right.stderr)")
        #expect(try kept() == ["88.0", "99.0", "100.1", "124.0"], "the fast run's record stays")
    }
}
