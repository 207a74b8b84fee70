import Foundation
import HermesCore
import HermesExport
import HermesTarget
import HermesTestSupport
import Synchronization
import Testing

/// The service's pipeline run timer cycle after timer cycle, as it runs for years: hermes-measure
/// against hermes-targets with seeded random faults and rates, then hermes-store with retention,
/// hermes-export with a textfile and a Loki that refuses a fifth of its requests, and hermes-alert.
/// Afterwards every store holds exactly what the records and retention imply, Loki every record,
/// the alert receiver exactly the notifications an independent model of the rules gives, and each
/// tool's memory and file descriptors are what they were in the first cycles.
///
/// 500 cycles here (HERMES_SOAK_CYCLES changes it; `scripts/bench soak` runs 5,000). The seed is
/// printed; HERMES_TEST_SEED repeats a run.
@Suite struct SoakTests {
    static let environment = ProcessInfo.processInfo.environment
    static let tools = ["hermes-measure", "hermes-store", "hermes-export", "hermes-alert"]

    /// Loki on loopback that refuses a seeded fifth of the requests with 503 while `failing`,
    /// and keeps the entry times (milliseconds) of every request it accepted.
    final class FlakyLoki: Sendable {
        let server: TestServer
        private let state: Mutex<(random: Seeded, failing: Bool, stamps: [Int64], refused: Int)>

        init(seed: UInt64) throws {
            state = Mutex((Seeded(state: seed), true, [], 0))
            let box = Mutex<FlakyLoki?>(nil)
            server = try TestServer.start(keptBodyBytes: 64 << 20) { request in
                guard let loki = box.withLock({ $0 }) else {
                    return .respond(status: 503, reason: "Starting", headers: [], body: [])
                }
                return loki.answer(request)
            }
            box.withLock { $0 = self }
        }

        private func answer(_ request: RecordedRequest) -> TestReply {
            let refuse = state.withLock { state in
                guard state.failing, state.random.next(below: 5) == 0 else { return false }
                state.refused += 1
                return true
            }
            if refuse { return .respond(status: 503, reason: "Service Unavailable", headers: [], body: []) }
            guard let json = try? Gzip.decompress(request.bodyPrefix),
                let body = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any]
            else { return .respond(status: 400, reason: "Bad Request", headers: [], body: []) }
            var stamps: [Int64] = []
            for stream in body["streams"] as? [[String: Any]] ?? [] {
                for value in stream["values"] as? [[String]] ?? [] { stamps.append(Int64(value[0].dropLast(6)) ?? -1) }
            }
            state.withLock { $0.stamps.append(contentsOf: stamps) }
            return .respond(status: 204, reason: "No Content", headers: [], body: [])
        }

        func recover() { state.withLock { $0.failing = false } }
        var stamps: [Int64] { state.withLock { $0.stamps } }
        var refused: Int { state.withLock { $0.refused } }
    }

    /// The processes below `pid`, itself included.
    static func descendants(of pid: Int32) -> [Int32] {
        var found = [pid]
        var index = 0
        while index < found.count {
            let parent = found[index]
            index += 1
            let children =
                (try? String(contentsOfFile: "/proc/\(parent)/task/\(parent)/children", encoding: .utf8)) ?? ""
            found.append(contentsOf: children.split(separator: " ").compactMap { Int32($0) })
        }
        return found
    }

    /// The open file descriptors of each Hermes tool running below `pid`, by tool name.
    static func descriptors(below pid: Int32) -> [String: Int] {
        var counts: [String: Int] = [:]
        for process in descendants(of: pid) {
            guard
                let name = try? String(contentsOfFile: "/proc/\(process)/comm", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines),
                tools.contains(name)
            else { continue }
            counts[name] = max(counts[name] ?? 0, FileSystem.names(in: "/proc/\(process)/fd").count)
        }
        return counts
    }

    /// What the alert rules imply for these records, worked out here rather than by hermes-alert:
    /// per series (each target is a server of its own), with a threshold of 2 consecutive
    /// failures, a cooldown longer than the soak and recovery after one result, a streak notifies
    /// once when it reaches 2, and the result that ends a notified streak notifies its recovery.
    static func expectedNotifications(_ records: [(failure: Bool, stamp: Int64, server: String)]) -> [String] {
        var streaks: [String: Int] = [:]
        var firing: Set<String> = []
        var expected: [String] = []
        for record in records {
            if record.failure {
                streaks[record.server, default: 0] += 1
                if streaks[record.server]! >= 2 && !firing.contains(record.server) {
                    firing.insert(record.server)
                    expected.append("failure \(record.stamp)")
                }
            } else {
                if firing.contains(record.server) { expected.append("recovery \(record.stamp)") }
                firing.remove(record.server)
                streaks[record.server] = 0
            }
        }
        return expected
    }

    /// The sum of a counter's samples over every series, for `result`.
    static func measurements(_ metrics: String, result: String) -> Int {
        metrics.split(separator: "\n").filter {
            $0.hasPrefix("hermes_measurements_total{") && $0.contains("result=\"\(result)\"}")
        }.compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +)
    }

    static func milliseconds(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }

    @Test func timerCyclesLoseNothingAndStayFlat() throws {
        let seed = Seeded.seed
        let cycles = Int(Self.environment["HERMES_SOAK_CYCLES"] ?? "") ?? 500
        let maximumRows = 300
        var random = Seeded(state: seed)

        // Three healthy targets at different rates, and one for each fault.
        let healthy = try [20.0, 100.0, 400.0].map { megabits in
            try TargetServer.startOnLoopback {
                $0.downBytesPerSecond = megabits * 125_000
                $0.upBytesPerSecond = megabits * 125_000 / 4
            }
        }
        let faulty = try [
            TargetServer.startOnLoopback { $0.failStatus = 503 },
            TargetServer.startOnLoopback { $0.closeAfter = 20_000 },
            TargetServer.startOnLoopback { $0.rateLimitRetryAfter = 1 },
            TargetServer.startOnLoopback { $0.stallAfter = 20_000 },
        ]
        defer { for target in healthy + faulty { target.stop() } }
        let webhook = try TestServer.start { _ in .ok("{}") }
        defer { webhook.stop() }
        let loki = try FlakyLoki(seed: seed ^ 0x5EED)
        defer { loki.server.stop() }

        let directory = try TemporaryDirectory()
        let binaries = try Executable.binaryDirectory().path
        let (database, csv, textfile) = (
            directory.file("hermes.db"), directory.file("results.csv"), directory.file("hermes.prom")
        )
        let (produced, memory, errors) = (
            directory.file("produced.jsonl"), directory.file("rss"), directory.file("stderr")
        )
        func timed(_ tool: String, _ arguments: String) -> String {
            "/usr/bin/time -a -o \(memory) -f '\(tool) %M' \(binaries)/\(tool) \(arguments)"
        }
        let spool = directory.file("spool")
        let downstream = [
            timed("hermes-store", "--sqlite \(database) --csv \(csv) --max-rows \(maximumRows) --tee"),
            timed(
                "hermes-export",
                "--textfile \(textfile) --loki \(loki.server.baseURL) --loki-retries 0 --spool \(spool) --tee"),
            timed(
                "hermes-alert",
                "--state \(directory.file("alert.json")) --webhook-url \(webhook.baseURL) --allow-private-targets --failure-threshold 2 --cooldown 30d"
            ),
        ]

        var descriptorPeaks: [[String: Int]] = []
        let started = ContinuousClock.now
        for cycle in 0..<cycles {
            // Three in four runs healthy; the faults: 503, a closed connection, a rate limit (and
            // the hold it sets), and now and then a stall that only the deadline ends.
            let pick = random.next(below: 100)
            let target =
                switch pick {
                case 0..<75: healthy[Int(pick % 3)]
                case 75..<83: faulty[0]
                case 83..<91: faulty[1]
                case 91..<98: faulty[2]
                default: faulty[3]
                }
            let measure = timed(
                "hermes-measure",
                "--server http://\(target.address) --duration 50ms --max-bytes 50000 --timeout 1s --state-directory \(directory.path)"
            )
            let pipeline = ([measure, "tee -a \(produced)"] + downstream).joined(separator: " | ")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-o", "pipefail", "-c", pipeline]
            process.standardOutput = FileHandle.nullDevice
            _ = FileManager.default.createFile(atPath: errors, contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
            try process.run()
            var peaks: [String: Int] = [:]
            while process.isRunning {
                peaks.merge(Self.descriptors(below: process.processIdentifier), uniquingKeysWith: max)
                usleep(2_000)
            }
            process.waitUntilExit()
            descriptorPeaks.append(peaks)
            let stderr = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            guard [0, 1].contains(process.terminationStatus) else {
                Issue.record("seed \(seed), cycle \(cycle): exit \(process.terminationStatus): \(stderr)")
                return
            }
        }
        let took = ContinuousClock.now - started

        // Loki is back: the next run sends what waited in the spool.
        loki.recover()
        let flush = try Executable.named("hermes-export").run(
            ["--loki", loki.server.baseURL, "--spool", spool], stdin: "")
        #expect(flush.status == 0, "seed \(seed): \(flush.stderr)")

        // What hermes-measure printed, read back independently of Hermes's decoder.
        var records: [(failure: Bool, stamp: Int64, server: String)] = []
        for line in try String(contentsOfFile: produced, encoding: .utf8).split(separator: "\n") {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "seed \(seed): \(line)")
            let stamp = try #require(Self.milliseconds(object["timestamp"] as? String ?? ""), "seed \(seed): \(line)")
            records.append((object["type"] as? String == "failure", stamp, object["server_url"] as? String ?? ""))
        }
        #expect(records.count == cycles, "seed \(seed): one record per cycle")
        let results = records.filter { !$0.failure }
        let failures = records.count - results.count

        // The stores: exactly the newest `maximumRows` records (SQLite) and results (CSV).
        let stored = try sqlite3(database, "SELECT timestamp FROM results ORDER BY timestamp").split(separator: "\n")
            .compactMap { Self.milliseconds(String($0)) }
        #expect(stored == Array(records.map(\.stamp).sorted().suffix(maximumRows)), "seed \(seed): SQLite")
        #expect(try sqlite3(database, "PRAGMA integrity_check") == "ok")
        let python = try ChildProcess.run(
            "/usr/bin/python3",
            [
                "-c",
                "import csv,sys; rows=list(csv.reader(open(sys.argv[1], newline='')))[1:]; print('\\n'.join(r[0] for r in rows if len(r) == 9))",
                csv,
            ])
        let csvStamps = python.stdout.split(separator: "\n").compactMap { Self.milliseconds(String($0)) }
        #expect(csvStamps == Array(results.map(\.stamp).sorted().suffix(maximumRows)), "seed \(seed): CSV")

        // Loki: every record at least once.
        let delivered = Set(loki.stamps)
        let missing = records.filter { !delivered.contains($0.stamp) }.count
        #expect(missing == 0, "seed \(seed): \(missing) of \(records.count) records never reached Loki")

        // The textfile counts every run.
        let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
        #expect(Self.measurements(metrics, result: "success") == results.count, "seed \(seed)")
        #expect(Self.measurements(metrics, result: "failure") == failures, "seed \(seed)")

        // The alert receiver: exactly what the rules imply, in order.
        let notifications = webhook.requests.compactMap { request -> String? in
            guard let body = try? JSONSerialization.jsonObject(with: Data(request.bodyPrefix)) as? [String: Any],
                let event = body["event"] as? String, let stamp = Self.milliseconds(body["timestamp"] as? String ?? "")
            else { return nil }
            return "\(event) \(stamp)"
        }
        let expected = Self.expectedNotifications(records)
        #expect(notifications == expected, "seed \(seed): \(notifications.count) sent, \(expected.count) expected")

        // Memory and descriptors: the last quarter of the cycles against the first. Descriptors
        // are sampled, so a window's peak may miss one; the slack of 3 allows for that.
        let window = max(10, cycles / 4)
        var peaksByTool: [String: [Int]] = [:]
        for line in try String(contentsOfFile: memory, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, let kilobytes = Int(fields[1]) {
                peaksByTool[String(fields[0]), default: []].append(kilobytes)
            }
        }
        var summary: [String] = []
        for tool in Self.tools {
            let peaks = peaksByTool[tool] ?? []
            try #require(peaks.count == cycles, "seed \(seed): \(tool) ran \(peaks.count) times")
            let first = peaks.prefix(window).sorted()[window / 2]
            let last = peaks.suffix(window).sorted()[window / 2]
            #expect(
                last <= first + first / 5 + 1024, "seed \(seed): \(tool)'s memory grew from \(first) KiB to \(last) KiB"
            )
            let firstDescriptors = descriptorPeaks.prefix(window).compactMap { $0[tool] }.max() ?? 0
            let lastDescriptors = descriptorPeaks.suffix(window).compactMap { $0[tool] }.max() ?? 0
            #expect(
                lastDescriptors <= firstDescriptors + 3,
                "seed \(seed): \(tool)'s descriptors grew from \(firstDescriptors) to \(lastDescriptors)")
            summary.append("\(tool) \(first)→\(last) KiB, \(firstDescriptors)→\(lastDescriptors) fds")
        }
        let perCycle = took / cycles
        print(
            "SoakTests: seed \(seed), \(cycles) cycles in \(took) (\(perCycle) each), \(results.count) results, \(failures) failures, \(loki.refused) Loki requests refused, \(expected.count) notifications; "
                + summary.joined(separator: "; "))
    }
}
