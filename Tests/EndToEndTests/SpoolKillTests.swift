import Foundation
import HermesCore
import HermesExport
import HermesTestSupport
import Synchronization
import Testing

/// hermes-export killed with SIGKILL, or stopped with SIGTERM, at random points while it sends a
/// spooled backlog to a Loki that accepts: no record is lost, a record is sent twice only when it
/// was in the request in flight at the kill, and a run sent SIGTERM is gone within 2 s.
@Suite struct SpoolKillTests {
    /// Loki on loopback, slow enough (20 ms per request) for kills to land mid-request; keeps
    /// the entry timestamps of every request it accepted.
    final class SlowLoki: Sendable {
        let server: TestServer
        private let accepted = Mutex<[[Int64]]>([])

        init() throws {
            let box = Mutex<SlowLoki?>(nil)
            server = try TestServer.start(keptBodyBytes: 64 << 20) { request in
                HermesTestSupport.sleep(for: .milliseconds(20))
                box.withLock { $0 }?.keep(request)
                return .respond(status: 204, reason: "No Content", headers: [], body: [])
            }
            box.withLock { $0 = self }
        }

        private func keep(_ request: RecordedRequest) {
            guard let json = try? Gzip.decompress(request.bodyPrefix),
                let body = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any]
            else { return }
            var stamps: [Int64] = []
            for stream in body["streams"] as? [[String: Any]] ?? [] {
                for value in stream["values"] as? [[String]] ?? [] { stamps.append(Int64(value[0].dropLast(6)) ?? -1) }
            }
            accepted.withLock { $0.append(stamps) }
        }

        var requests: [[Int64]] { accepted.withLock { $0 } }
    }

    @Test(arguments: [SIGKILL, SIGTERM])
    func fiftyKillsLoseNothingAndRepeatOnlyWhatWasInFlight(signal: Int32) throws {
        let loki = try SlowLoki()
        defer { loki.server.stop() }
        let directory = try TemporaryDirectory()
        let binary = try Executable.named("hermes-export").url.path
        let seed = Seeded.seed
        var random = Seeded(state: seed)
        let pushURL = loki.server.baseURL + "/loki/api/v1/push"
        let queue = try SpoolQueue(
            settings: SpoolSettings(root: directory.path), sink: "loki", destination: pushURL + " tenant=")

        var spooled: [Int64] = []
        var killedRuns = 0
        // The first two runs go unkilled, and the shorter bounds the later delays (the first
        // starts cold): on any host, fast or loaded, the signals then land while runs are going.
        var delayBound = UInt64.max
        for iteration in 0..<50 {
            // A backlog of 120 records, in segments of about 40.
            var payloads: [[UInt8]] = []
            for index in 0..<120 {
                let stamp = Int64(1_777_636_800_000) + Int64(iteration * 1000 + index) * 1000
                let text =
                    #"{"v":1,"type":"result","timestamp":"\#(Timestamp(millisecondsSinceEpoch: stamp))","download_mbps":\#(index),"upload_mbps":1,"ping_ms":2}"#
                guard case .record(let record, _) = try #require(RecordReader.decodeAll(text).first) else {
                    Issue.record("not a record: \(text)")
                    return
                }
                var line = RecordEncoder.encode(record)
                line.removeLast()
                payloads.append(line)
                spooled.append(stamp)
            }
            try queue.append(payloads, at: .now(), segmentBytes: 40 * (payloads[0].count + 10))

            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["--loki", loki.server.baseURL, "--loki-retries", "0", "--spool", directory.path]
            process.environment = ["PATH": "/usr/bin:/bin", "STATE_DIRECTORY": directory.path]
            let input = Pipe()
            process.standardInput = input
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let begun = ContinuousClock.now
            try process.runAsSystemdWould()
            try input.fileHandleForWriting.close()
            if iteration < 2 {
                process.waitUntilExit()
                let took = UInt64((ContinuousClock.now - begun) / .microseconds(1) * 0.8)
                delayBound = max(5_000, min(delayBound, took))
                continue
            }
            usleep(useconds_t(random.next(below: delayBound)))
            let sent = ContinuousClock.now
            if process.isRunning {
                kill(process.processIdentifier, signal)
                killedRuns += 1
            }
            process.waitUntilExit()
            // alarm(2) is the backstop after SIGTERM; the bound is for a loaded host.
            #expect(ContinuousClock.now - sent < .seconds(10), "seed \(seed): run \(iteration) ended late")
        }
        // A last run, not killed, sends what is left.
        let last = try Executable.named("hermes-export").run(
            ["--loki", loki.server.baseURL, "--spool", directory.path], stdin: "")
        #expect(last.status == 0, "seed \(seed): \(last.stderr)")

        let delivered = loki.requests.flatMap { $0 }
        let unique = Set(delivered)
        let lost = Set(spooled).subtracting(unique).count
        #expect(lost == 0, "seed \(seed): \(lost) of \(spooled.count) record(s) lost")
        #expect(unique.count == spooled.count, "seed \(seed): nothing else arrives")
        let duplicates = delivered.count - unique.count
        let largestRequest = loki.requests.map(\.count).max() ?? 0
        // A request whose records arrive again later was in flight at a kill: accepted, but the
        // run died before it took the records out of the spool. One kill, at most one such request.
        var seenLater: Set<Int64> = []
        var repeatedRequests = 0
        for request in loki.requests.reversed() {
            if request.contains(where: seenLater.contains) { repeatedRequests += 1 }
            seenLater.formUnion(request)
        }
        #expect(
            repeatedRequests <= killedRuns, "seed \(seed): \(repeatedRequests) requests repeated, \(killedRuns) kills")
        print(
            "SpoolKillTests: seed \(seed), signal \(signal) sent to \(killedRuns) of 50 runs, \(spooled.count) records, \(duplicates) sent twice in \(repeatedRequests) request(s) in flight at a kill, requests of at most \(largestRequest)"
        )
        #expect(
            duplicates <= killedRuns * largestRequest,
            "seed \(seed): \(duplicates) duplicates from \(killedRuns) kills, requests of at most \(largestRequest)")
        #expect(queue.segments().isEmpty, "seed \(seed): the spool is empty at the end")
        #expect(killedRuns >= 5, "seed \(seed): the kills should land while runs are going")
    }
}
