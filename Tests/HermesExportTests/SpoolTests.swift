import Foundation
import HermesCore
import HermesTestSupport
import Synchronization
import Testing

@testable import HermesExport

/// The spool behind every push: outages, bounds, damage, two runs at once.
@Suite struct SpoolTests {
    /// A Loki stand-in on loopback that is down (503) while `down` is set, and keeps the entry
    /// timestamps of every request it accepted, in the order received.
    final class Receiver: Sendable {
        let server: TestServer
        private let state = Mutex<(down: Bool, accepted: [[Int64]])>((false, []))

        init(delay: Duration = .zero) throws {
            let box = Mutex<Receiver?>(nil)
            server = try TestServer.start(keptBodyBytes: 64 << 20) { request in
                if delay > .zero { HermesTestSupport.sleep(for: delay) }
                guard let receiver = box.withLock({ $0 }) else {
                    return .respond(status: 500, reason: "x", headers: [], body: [])
                }
                return receiver.answer(request)
            }
            box.withLock { $0 = self }
        }

        var down: Bool {
            get { state.withLock { $0.down } }
            set { state.withLock { $0.down = newValue } }
        }
        var accepted: [[Int64]] { state.withLock { $0.accepted } }
        var entries: [Int64] { accepted.flatMap { $0 } }
        var url: String { server.baseURL }

        private func answer(_ request: RecordedRequest) -> TestReply {
            if state.withLock({ $0.down }) {
                return .respond(status: 503, reason: "Unavailable", headers: [], body: Array("ingester down".utf8))
            }
            guard let json = try? Gzip.decompress(request.bodyPrefix),
                let body = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
                let streams = body["streams"] as? [[String: Any]]
            else { return .respond(status: 400, reason: "Bad Request", headers: [], body: Array("bad body".utf8)) }
            var stamps: [Int64] = []
            for stream in streams {
                for value in stream["values"] as? [[String]] ?? [] {
                    stamps.append(Int64(value[0].dropLast(6)) ?? -1)
                }
            }
            state.withLock { $0.accepted.append(stamps.sorted()) }
            return .respond(status: 204, reason: "No Content", headers: [], body: [])
        }

        func stop() { server.stop() }
    }

    static let start: Int64 = 1_777_636_800_000

    /// Record `index`, a result whose timestamp (milliseconds) identifies it.
    static func line(_ index: Int) -> String {
        let stamp = Timestamp(millisecondsSinceEpoch: start + Int64(index) * 60_000)
        return
            #"{"v":1,"type":"result","timestamp":"\#(stamp)","download_mbps":\#(100 + index),"upload_mbps":20,"ping_ms":9.5,"probe":"home"}"#
    }

    static func stamp(_ index: Int) -> Int64 { start + Int64(index) * 60_000 }

    struct Run {
        var summary: Export.Summary
        var sink: PushSink
        var messages: [String]
        var state: MetricState
    }

    /// One timer-like run of hermes-export with `input`, pushing to `receiver` through the spool
    /// in `directory`. Retries off: a down receiver costs one request.
    static func run(
        _ input: String, receiver: Receiver, spool directory: String, maximumBytes: Int = 1 << 20,
        requestBytes: Int = 1 << 20, now: Timestamp = Timestamp(millisecondsSinceEpoch: start)
    ) throws -> Run {
        var configuration = LokiConfiguration(
            pushURL: LokiConfiguration.pushURL(for: receiver.url), staticLabels: [("job", "hermes")])
        configuration.maximumRetries = 0
        configuration.maximumBatchBytes = requestBytes
        let collected = Mutex<[String]>([])
        let diagnostics = Diagnostics(tool: "test") { message in collected.withLock { $0.append(message) } }
        var settings = SpoolSettings(root: directory)
        settings.maximumBytes = maximumBytes
        let sink = PushSink(
            LokiTarget(LokiClient(configuration: configuration, diagnostics: diagnostics)), spool: settings)
        sink.now = { now }
        let textfile = TextfileSink(Textfile(path: directory + "/hermes.prom"))
        var export = Export(sinks: [textfile, sink], diagnostics: diagnostics)
        export.now = { now }
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data(input.utf8))
        try pipe.fileHandleForWriting.close()
        let summary = export.run(reading: pipe.fileHandleForReading.fileDescriptor)
        let state = try Textfile(path: directory + "/hermes.prom").readState()
        return Run(summary: summary, sink: sink, messages: collected.withLock { $0 }, state: state)
    }

    /// Twenty runs while the receiver is down, each with one record: nothing is lost, nothing
    /// fails the run, and when it comes back every record arrives once, oldest first.
    @Test func anOutageOfTwentyRunsIsDeliveredOnceOldestFirst() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        let directory = try TemporaryDirectory()
        receiver.down = true
        for index in 0..<20 {
            let run = try Self.run(Self.line(index) + "\n", receiver: receiver, spool: directory.path)
            #expect(run.summary.exitCode == .success, "\(run.messages)")
            #expect(run.messages.contains { $0.contains("\(index + 1) record(s) wait in the spool for Loki") })
            #expect(run.state.spools["loki"]?.entries == index + 1)
            #expect(run.state.spools["loki"]?.oldestSpooled == Timestamp(millisecondsSinceEpoch: Self.start))
        }
        #expect(receiver.entries.isEmpty)
        receiver.down = false
        let back = try Self.run(Self.line(20) + "\n", receiver: receiver, spool: directory.path)
        #expect(back.summary.exitCode == .success, "\(back.messages)")
        #expect(back.sink.pushed == 21)
        #expect(receiver.entries == (0...20).map(Self.stamp), "every record once, oldest first")
        #expect(back.state.spools["loki"] == MetricState.SpoolGauges(entries: 0, oldestSpooled: nil, dropped: 0))
        #expect(back.state.counts.successes == 21)
        #expect(!back.messages.contains { $0.contains("wait in the spool") })
    }

    /// At the size bound the oldest records go first, the run says how many and fails (75), and
    /// the dropped counter keeps counting across runs.
    @Test func theBoundDropsTheOldestAndCountsThem() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        let directory = try TemporaryDirectory()
        receiver.down = true
        let segmentBytes = Self.line(0).utf8.count + 40
        var dropped = 0
        for index in 0..<8 {
            let run = try Self.run(
                Self.line(index) + "\n", receiver: receiver, spool: directory.path, maximumBytes: 3 * segmentBytes,
                now: Timestamp(millisecondsSinceEpoch: Self.stamp(index)))
            if run.sink.droppedAtBound > 0 {
                #expect(run.summary.exitCode == .temporaryFailure)
                #expect(
                    run.messages.contains {
                        $0.contains("spool reached its bound") && $0.contains("dropped the 1 oldest")
                    })
            }
            dropped += run.sink.droppedAtBound
            #expect(run.state.spools["loki"]?.dropped == dropped)
        }
        #expect(dropped >= 4)
        receiver.down = false
        // The next runs send what is left; a request a loaded host lets time out waits for the
        // run after (CI saw 2 records left once, cause not found: each run's messages say).
        var messages: [String] = []
        for attempt in 0..<3 {
            let back = try Self.run(
                "", receiver: receiver, spool: directory.path, maximumBytes: 3 * segmentBytes,
                now: Timestamp(millisecondsSinceEpoch: Self.stamp(8 + attempt)))
            #expect(back.summary.exitCode == .success, "\(back.messages)")
            messages += back.messages
            if receiver.entries.count + dropped == 8 { break }
        }
        let delivered = receiver.entries
        #expect(delivered == (8 - delivered.count..<8).map(Self.stamp), "the newest are kept, in order")
        #expect(delivered.count + dropped == 8, "\(delivered.count) delivered, \(dropped) dropped: \(messages)")
    }

    /// A line damaged in the middle of a segment: reported with its line number, its bytes set
    /// aside, and every other record delivered.
    @Test func aDamagedEntryIsReportedAndTheRestDelivered() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        let directory = try TemporaryDirectory()
        receiver.down = true
        _ = try Self.run((0..<5).map { Self.line($0) + "\n" }.joined(), receiver: receiver, spool: directory.path)
        let queue = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasPrefix("loki-") })
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.file(queue)).first { $0.hasSuffix(".spool") })
        let path = directory.file(queue + "/" + segment)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let third = bytes.indices.filter { bytes[$0] == UInt8(ascii: "\n") }[1] + 40
        bytes[third] = UInt8(ascii: "X")
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        receiver.down = false
        let back = try Self.run("", receiver: receiver, spool: directory.path)
        #expect(receiver.entries == [0, 1, 3, 4].map(Self.stamp))
        #expect(back.sink.damaged == 1)
        #expect(back.messages.contains { $0.contains("damaged entries (checksum or shape) at line(s) 3 of \(path)") })
        let rejected = try FileManager.default.contentsOfDirectory(atPath: directory.file("rejected"))
        #expect(rejected.count == 1)
        #expect(try String(contentsOfFile: directory.file("rejected/" + rejected[0]), encoding: .utf8).contains("X"))
    }

    /// While one run holds the queue, another leaves its records for it; the holder sends them
    /// before it lets go, so nothing is sent twice.
    @Test func twoRunsAtOnceNeverSendTheSameEntry() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        let directory = try TemporaryDirectory()
        receiver.down = true
        _ = try Self.run(Self.line(0) + "\n", receiver: receiver, spool: directory.path)
        receiver.down = false
        let queue = try SpoolQueue(
            settings: SpoolSettings(root: directory.path), sink: "loki",
            destination: LokiConfiguration.pushURL(for: receiver.url) + " tenant=")
        #expect(try queue.lockForSending())
        let second = try Self.run(Self.line(1) + "\n", receiver: receiver, spool: directory.path)
        #expect(second.summary.exitCode == .success)
        #expect(second.sink.pushed == 0)
        #expect(second.messages.contains { $0.contains("another hermes-export is sending the Loki spool") })
        #expect(receiver.entries.isEmpty)
        #expect(queue.segments().map(\.entries).reduce(0, +) == 2)
    }

    /// A queue belongs to one destination: records spooled for one Loki never go to another.
    @Test func eachDestinationHasItsOwnQueue() throws {
        let first = try Receiver()
        defer { first.stop() }
        let second = try Receiver()
        defer { second.stop() }
        let directory = try TemporaryDirectory()
        first.down = true
        _ = try Self.run(Self.line(0) + "\n", receiver: first, spool: directory.path)
        _ = try Self.run(Self.line(1) + "\n", receiver: second, spool: directory.path)
        #expect(second.entries == [Self.stamp(1)])
        first.down = false
        _ = try Self.run("", receiver: first, spool: directory.path)
        #expect(first.entries == [Self.stamp(0)])
    }

    /// A clock set back: a new queue (another run) appends at the newest segment's stamp, with a
    /// sequence after it, so the backlog still goes first.
    @Test func aClockSetBackNeverPutsNewRecordsAheadOfTheBacklog() throws {
        let directory = try TemporaryDirectory()
        let settings = SpoolSettings(root: directory.path)
        let first = try SpoolQueue(settings: settings, sink: "loki", destination: "d")
        let later = Timestamp(millisecondsSinceEpoch: Self.start + 3_600_000)
        for index in 0..<5 { try first.append([Array("old-\(index)".utf8)], at: later, segmentBytes: 1 << 20) }
        let second = try SpoolQueue(settings: settings, sink: "loki", destination: "d")
        try second.append([Array("new".utf8)], at: Timestamp(millisecondsSinceEpoch: Self.start), segmentBytes: 1 << 20)
        let order = try second.segments().flatMap { try second.read($0).payloads }.map {
            String(decoding: $0, as: UTF8.self)
        }
        #expect(order == ["old-0", "old-1", "old-2", "old-3", "old-4", "new"])
    }

    /// Remote write 1.0: 5xx and 429 are retried, every other 4xx (408 too) is final.
    @Test func remoteWriteDoesNotRetry408() throws {
        let server = try TestServer.start { _ in .respond(status: 408, reason: "Request Timeout", headers: [], body: [])
        }
        defer { server.stop() }
        var configuration = RemoteWriteConfiguration(url: server.baseURL + "/api/v1/write")
        configuration.maximumRetries = 3
        let target = RemoteWriteTarget(configuration, diagnostics: Diagnostics(tool: "test") { _ in })
        target.client.sleep = { _ in }
        do throws(ExportError) {
            try target.push([Array(Base64.encode([0x0A, 0x00]).utf8)])
            Issue.record("a 408 was taken as success")
        } catch {
            #expect(error.refusesOnlyThisBatch, "\(error)")
        }
        #expect(server.requests.count == 1, "not retried")
    }

    /// A writer killed before its rename leaves `NAME.tmp-PID`: the next sender removes it once
    /// that process is gone, and leaves a live writer's alone.
    @Test func temporaryFilesOfKilledWritersAreRemovedByTheNextSender() throws {
        let directory = try TemporaryDirectory()
        let queue = try SpoolQueue(settings: SpoolSettings(root: directory.path), sink: "loki", destination: "d")
        let dead = queue.directory + "/0000000000001-000001-1-1.spool.tmp-99999999"
        let live = queue.directory + "/0000000000002-000001-1-1.spool.tmp-\(getpid())"
        for path in [dead, live] { _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) }
        #expect(try queue.lockForSending())
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(queue.segments().isEmpty, "a temporary file is never part of the queue")
    }

    @Test func segmentsParseAndRejectDamage() {
        var contents: [UInt8] = []
        SpoolQueue.appendEntry(Array("one".utf8), to: &contents)
        SpoolQueue.appendEntry(Array("two".utf8), to: &contents)
        contents += Array("0000zzzz three\n".utf8)
        SpoolQueue.appendEntry(Array("four".utf8), to: &contents)
        contents += Array("torn".utf8)
        let parsed = SpoolQueue.parse(contents)
        #expect(parsed.payloads.map { String(decoding: $0, as: UTF8.self) } == ["one", "two", "four"])
        #expect(parsed.damaged.map(\.line) == [3, 5])
        #expect(SpoolQueue.hash("http://a tenant=") == SpoolQueue.hash("http://a tenant="))
        #expect(SpoolQueue.hash("http://a tenant=") != SpoolQueue.hash("http://a tenant=x"))
    }
}
