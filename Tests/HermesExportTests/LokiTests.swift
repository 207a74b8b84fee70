import Foundation
import HermesCore
import HermesTestSupport
import Synchronization
import Testing

@testable import HermesExport

@Suite struct LokiTests {
    /// A client against `receiver` whose backoff sleeps are recorded instead of waited.
    func client(
        _ receiver: LokiReceiver, retries: Int = 3, tenant: String? = nil, authorization: String? = nil,
        path: String = ""
    ) -> (LokiClient, Delays) {
        var configuration = LokiConfiguration(
            pushURL: LokiConfiguration.pushURL(for: receiver.url + path),
            staticLabels: [("job", "hermes_speedtest"), ("site", "home")], tenant: tenant,
            authorization: authorization)
        configuration.maximumRetries = retries
        let client = LokiClient(configuration: configuration, diagnostics: Diagnostics(tool: "test"))
        let delays = Delays()
        client.sleep = { delays.append($0) }
        client.random = { 0.5 }
        return (client, delays)
    }

    final class Delays: Sendable {
        private let values = Mutex<[Duration]>([])
        func append(_ value: Duration) { values.withLock { $0.append(value) } }
        var all: [Duration] { values.withLock { $0 } }
    }

    func batch(_ lines: [String]) throws -> LokiBatch {
        var batch = LokiBatch(staticLabels: [("job", "hermes_speedtest"), ("site", "home")])
        for line in lines { batch.append(try Fixtures.record(line)) }
        return batch
    }

    func decodedBody(_ request: LokiReceiver.Request) throws -> [String: Any] {
        let json = try Gzip.decompress(request.body)
        return try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    }

    @Test func pushIsOneGzipJSONRequestInLokisShape() throws {
        let receiver = try LokiReceiver()
        defer { receiver.stop() }
        let (loki, delays) = client(receiver, tenant: "team-a")
        let second = Fixtures.resultLine.replacingOccurrences(of: "12:00:00.123Z", with: "12:30:00.000Z")
        try loki.push(try batch([Fixtures.resultLine, Fixtures.failureLine, second]))
        #expect(delays.all.isEmpty)
        let request = try #require(receiver.requests.first)
        #expect(receiver.requests.count == 1)
        #expect(request.method == "POST")
        #expect(request.target == "/loki/api/v1/push")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Content-Encoding") == "gzip")
        #expect(request.header("X-Scope-OrgID") == "team-a")
        #expect(request.header("Authorization") == nil)
        #expect(request.body.starts(with: [0x1F, 0x8B]))

        let text = String(decoding: try Gzip.decompress(request.body), as: UTF8.self)
        let resultLine = RecordEncoder.line(try Fixtures.record(Fixtures.resultLine)).dropLast()
        let expectedPrefix =
            #"{"streams":[{"stream":{"job":"hermes_speedtest","site":"home","probe":"home","type":"result"},"values":[["1777636800123000000","#
        #expect(text.hasPrefix(expectedPrefix))

        let body = try decodedBody(request)
        let streams = try #require(body["streams"] as? [[String: Any]])
        #expect(streams.count == 2)
        let results = try #require(streams.first)
        #expect(
            results["stream"] as? [String: String]
                == ["job": "hermes_speedtest", "site": "home", "probe": "home", "type": "result"])
        let values = try #require(results["values"] as? [[String]])
        #expect(values.map(\.count) == [2, 2])
        #expect(values[0] == ["1777636800123000000", String(resultLine)])
        #expect(values[1][0] == "1777638600000000000")
        let failures = try #require(streams.last)
        #expect((failures["stream"] as? [String: String])?["type"] == "failure")
        let failureValues = try #require(failures["values"] as? [[String]])
        #expect(
            failureValues == [
                [
                    "1777640400000000000",
                    String(RecordEncoder.line(try Fixtures.record(Fixtures.failureLine)).dropLast()),
                ]
            ])
        // The timestamps are JSON strings, not numbers (a number is a 400 from Loki).
        #expect(text.contains(#"[["1777636800123000000","#))
    }

    @Test(arguments: [
        ("https://loki.example", "https://loki.example/loki/api/v1/push"),
        ("https://loki.example/", "https://loki.example/loki/api/v1/push"),
        ("https://loki.example/loki/api/v1/push", "https://loki.example/loki/api/v1/push"),
        ("http://gw:3100/prefix", "http://gw:3100/prefix/loki/api/v1/push"),
    ])
    func pushURLIsBuiltLikeThePythonHermes(base: String, push: String) {
        #expect(LokiConfiguration.pushURL(for: base) == push)
    }

    @Test func basicAuthenticationFromASecretFile() throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("password")
        try "s3cr:et\n".write(toFile: file, atomically: false, encoding: .utf8)
        let password = try #require(
            try SecretFile.read(path: file, credential: "loki-password", environment: .init([:])))
        #expect(password == "s3cr:et")
        let receiver = try LokiReceiver()
        defer { receiver.stop() }
        let (loki, _) = client(
            receiver, authorization: LokiConfiguration.basicAuthorization(user: "12345", password: password))
        try loki.push(try batch([Fixtures.resultLine]))
        #expect(receiver.requests.first?.header("Authorization") == "Basic MTIzNDU6czNjcjpldA==")
    }

    @Test func bearerTokenFromTheCredentialsDirectory() throws {
        let directory = try TemporaryDirectory()
        try "tk_abc\n".write(toFile: directory.file("loki-token"), atomically: false, encoding: .utf8)
        let environment = Environment(["CREDENTIALS_DIRECTORY": directory.path])
        let token = try #require(try SecretFile.read(path: nil, credential: "loki-token", environment: environment))
        let receiver = try LokiReceiver()
        defer { receiver.stop() }
        let (loki, _) = client(receiver, authorization: LokiConfiguration.bearerAuthorization(token: token))
        try loki.push(try batch([Fixtures.resultLine]))
        #expect(receiver.requests.first?.header("Authorization") == "Bearer tk_abc")
        #expect(try SecretFile.read(path: nil, credential: "loki-password", environment: environment) == nil)
    }

    @Test func secretFileProblemsAreConfigurationErrorsThatNeverShowTheSecret() throws {
        let directory = try TemporaryDirectory()
        let empty = directory.file("empty")
        try "\n".write(toFile: empty, atomically: false, encoding: .utf8)
        #expect(throws: ConfigurationError.self) {
            try SecretFile.read(path: empty, credential: "x", environment: .init([:]))
        }
        let twoLines = directory.file("two")
        try "hunter2\nmore\n".write(toFile: twoLines, atomically: false, encoding: .utf8)
        do {
            _ = try SecretFile.read(path: twoLines, credential: "x", environment: .init([:]))
            Issue.record("a two-line secret was accepted")
        } catch {
            #expect(!error.message.contains("hunter2"))
        }
        #expect(throws: ConfigurationError.self) {
            try SecretFile.read(path: directory.file("missing"), credential: "x", environment: .init([:]))
        }
    }

    @Test func rateLimitAndServerErrorsAreRetriedWithGrowingJitteredBackoff() throws {
        let receiver = try LokiReceiver(script: [
            .init(status: 429, body: "ingestion rate limit exceeded"), .init(status: 500, body: "oops"),
            .init(status: 503),
        ])
        defer { receiver.stop() }
        let (loki, delays) = client(receiver, retries: 3)
        try loki.push(try batch([Fixtures.resultLine]))
        #expect(receiver.requests.count == 4)
        // random() = 0.5 gives 75 % of 500 ms, 1 s, 2 s.
        #expect(delays.all == [.milliseconds(375), .milliseconds(750), .milliseconds(1500)])
        let bodies = Set(receiver.requests.map(\.body))
        #expect(bodies.count == 1, "every attempt sends the same body")
    }

    @Test func retriesEndInATemporaryFailure() throws {
        let receiver = try LokiReceiver(script: Array(repeating: .init(status: 500, body: "down"), count: 10))
        defer { receiver.stop() }
        let (loki, delays) = client(receiver, retries: 2)
        let pending = try batch([Fixtures.resultLine])
        do throws(ExportError) {
            try loki.push(pending)
            Issue.record("push succeeded against a failing Loki")
        } catch {
            #expect(error.exitCode == .temporaryFailure)
            #expect(error.description.contains("HTTP 500: down"))
            #expect(error.description.contains("gave up after 3 attempt(s)"))
        }
        #expect(receiver.requests.count == 3)
        #expect(delays.all.count == 2)
    }

    @Test func retryAfterIsHonouredUpToTheCap() throws {
        let receiver = try LokiReceiver(script: [
            .init(status: 429, headers: ["Retry-After": "7"]), .init(status: 503, headers: ["Retry-After": "600"]),
            .init(status: 429, headers: ["Retry-After": "Thu, 01 Jan 2099 00:00:00 GMT"]),
        ])
        defer { receiver.stop() }
        let (loki, delays) = client(receiver)
        try loki.push(try batch([Fixtures.resultLine]))
        #expect(delays.all == [.seconds(7), .seconds(30), .seconds(30)])
    }

    @Test func otherClientErrorsAreNotRetriedAndShowTheServersMessage() throws {
        let message = "entry for stream '{job=\"hermes\"}' has timestamp too old"
        let receiver = try LokiReceiver(script: [.init(status: 400, body: message + "\n")])
        defer { receiver.stop() }
        let (loki, delays) = client(receiver)
        let pending = try batch([Fixtures.resultLine])
        do throws(ExportError) {
            try loki.push(pending)
            Issue.record("a 400 was accepted")
        } catch {
            #expect(error.description.contains("answered HTTP 400: \(message)"))
            #expect(error.exitCode == .dataError)
        }
        #expect(receiver.requests.count == 1)
        #expect(delays.all.isEmpty)
    }

    @Test func unauthorisedIsAConfigurationError() throws {
        let receiver = try LokiReceiver(script: [.init(status: 401, body: "no org id")])
        defer { receiver.stop() }
        let (loki, _) = client(receiver)
        #expect(
            throws: ExportError.refused(
                message: "Loki at \(receiver.url)/loki/api/v1/push answered HTTP 401: no org id", status: 401)
        ) {
            try loki.push(try batch([Fixtures.resultLine]))
        }
    }

    @Test func anUnreachableLokiIsRetriedThenTemporary() throws {
        let port = try closedLoopbackPort()
        var configuration = LokiConfiguration(
            pushURL: "http://127.0.0.1:\(port)/loki/api/v1/push", staticLabels: [("job", "x")])
        configuration.maximumRetries = 2
        let loki = LokiClient(configuration: configuration, diagnostics: Diagnostics(tool: "test"))
        let delays = Delays()
        loki.sleep = { delays.append($0) }
        let pending = try batch([Fixtures.resultLine])
        do throws(ExportError) {
            try loki.push(pending)
            Issue.record("push to a closed port succeeded")
        } catch {
            #expect(error.exitCode == .temporaryFailure)
            #expect(error.description.contains("could not connect"))
        }
        #expect(delays.all.count == 2)
    }

    /// Runs a whole export of `input` into `receiver` in batches of at most 4 KiB of lines, with
    /// no spool (`SpoolTests` covers the spool).
    func exportInSmallBatches(_ input: String, to receiver: LokiReceiver) -> (Export.Summary, PushSink, Delays) {
        var (loki, delays) = client(receiver)
        var configuration = loki.configuration
        configuration.maximumBatchBytes = 4096
        loki = LokiClient(configuration: configuration, diagnostics: Diagnostics(tool: "test"))
        loki.sleep = { delays.append($0) }
        let sink = PushSink(LokiTarget(loki), spool: nil)
        let export = Export(sinks: [sink], diagnostics: Diagnostics(tool: "test"))
        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(input.utf8))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        return (export.run(reading: pipe.fileHandleForReading.fileDescriptor), sink, delays)
    }

    func entryCount(_ requests: some Sequence<LokiReceiver.Request>) throws -> Int {
        var entries = 0
        for request in requests {
            let streams = try #require(try decodedBody(request)["streams"] as? [[String: Any]])
            for stream in streams { entries += (stream["values"] as? [[String]])?.count ?? 0 }
        }
        return entries
    }

    @Test func exportSplitsLargeInputsIntoBatchesAndKeepsEveryRecord() throws {
        let receiver = try LokiReceiver()
        defer { receiver.stop() }
        let (summary, sink, _) = exportInSmallBatches(
            String(repeating: Fixtures.resultLine + "\n", count: 50) + "bad\n", to: receiver)
        #expect(summary.exitCode == .dataError)
        #expect(sink.pushed == 50)
        #expect(receiver.requests.count > 1)
        #expect(try entryCount(receiver.requests) == 50)
    }

    /// Loki's 400s are about entries (too old, too long) in one request: a backfill whose first
    /// batch is refused must still push the rest, and end with the data-error status.
    @Test func aRefusedBatchDoesNotStopTheBatchesAfterIt() throws {
        let receiver = try LokiReceiver(script: [.init(status: 400, body: "entry too far behind")])
        defer { receiver.stop() }
        let (summary, sink, delays) = exportInSmallBatches(
            String(repeating: Fixtures.resultLine + "\n", count: 50), to: receiver)
        #expect(summary.exitCode == .dataError)
        #expect(receiver.requests.count > 2)
        #expect(sink.refused + sink.pushed == 50)
        #expect(sink.pushed == (try entryCount(receiver.requests.dropFirst())))
        #expect(sink.pushed > 0)
        #expect(sink.notPushed == 0)
        #expect(delays.all.isEmpty, "a 400 is not retried")
    }

    /// A newest-first backfill goes out oldest first within each stream: Loki refuses entries
    /// far behind the newest one it has for a stream.
    @Test func entriesOfAStreamAreSentOldestFirst() throws {
        let receiver = try LokiReceiver()
        defer { receiver.stop() }
        let (loki, _) = client(receiver)
        let hours = ["13", "11", "12", "11"]
        let lines = hours.map {
            Fixtures.resultLine.replacingOccurrences(of: "T12:00:00.123Z", with: "T\($0):00:00.123Z")
        }
        try loki.push(try batch(lines))
        let request = try #require(receiver.requests.first)
        let streams = try #require(try decodedBody(request)["streams"] as? [[String: Any]])
        let values = try #require(streams.first?["values"] as? [[String]])
        #expect(
            values.map { $0[0] } == [
                "1777633200123000000", "1777633200123000000", "1777636800123000000", "1777640400123000000",
            ])
    }

    @Test func aRequestTimeoutAnswerIsRetriedAndTheUserAgentNamesTheVersion() throws {
        let receiver = try LokiReceiver(script: [.init(status: 408)])
        defer { receiver.stop() }
        let (loki, delays) = client(receiver)
        try loki.push(try batch([Fixtures.resultLine]))
        #expect(receiver.requests.count == 2)
        #expect(delays.all.count == 1)
        #expect(receiver.requests.first?.header("User-Agent") == "hermes-export/\(HermesVersion.current)")
    }

    @Test(arguments: ["x=1", "region_2=eu"])
    func validLabels(pair: String) throws {
        _ = try LokiConfiguration.label(pair)
    }

    @Test(arguments: ["novalue", "1x=a", "__name=a", "job=x", "type=x", "probe=x", "a-b=c", "a="])
    func invalidLabels(pair: String) {
        #expect(throws: ConfigurationError.self) { try LokiConfiguration.label(pair) }
    }

    @Test func gzipRoundTripsAndRejectsGarbage() throws {
        let input = Array(String(repeating: "hermes ", count: 10_000).utf8)
        let compressed = try Gzip.compress(input)
        #expect(compressed.count < input.count / 10)
        #expect(try Gzip.decompress(compressed) == input)
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress([1, 2, 3]) }
        #expect(try Gzip.decompress(try Gzip.compress([])) == [])
    }

    @Test func base64MatchesRFC4648() {
        for (input, output) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            #expect(Base64.encode(Array(input.utf8)) == output)
        }
    }
}
