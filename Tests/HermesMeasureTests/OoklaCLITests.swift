import HermesCore
import HermesMeasure
import HermesTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The ookla-cli engine against stand-in `speedtest` scripts that print recorded Ookla output.
@Suite struct OoklaCLITests {
    /// State, lock and files of one test, removed after it.
    private let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory()
    }

    /// Ookla CLI 1.2 `--format=json`, as recorded.
    static let recorded =
        #"{"type":"result","timestamp":"2026-11-29T10:00:00Z","ping":{"jitter":0.85,"latency":9.12,"low":8.6,"high":10.4},"download":{"bandwidth":116425000,"bytes":1402335000,"elapsed":12003,"latency":{"iqm":41.2,"low":11.0,"high":120.3,"jitter":6.1}},"upload":{"bandwidth":5000000,"bytes":60000000,"elapsed":12000,"latency":{"iqm":55.5}},"packetLoss":0.5,"isp":"Example Fibre","interface":{"internalIp":"10.0.0.2","externalIp":"203.0.113.9"},"server":{"id":1234,"host":"speed.example.net","port":8080,"name":"Example","location":"Berlin","country":"Germany","ip":"198.51.100.1"},"result":{"id":"abc","url":"https://www.speedtest.net/result/c/abc","persisted":true}}"#

    private func standIn(_ script: String) throws -> String {
        let path = scratch.file("speedtest")
        try FileSystem.atomicReplace(path, with: Array("#!/bin/sh\n\(script)\n".utf8), mode: 0o755)
        return path
    }

    private func run(_ script: String, timeout: Duration = .seconds(20)) throws -> Record {
        let command = try standIn(script)
        return measure(
            try settings(in: scratch, .ooklaCLI, server: nil) {
                $0.speedtestCommand = command
                $0.timeout = timeout
            })
    }

    @Test func aResultIsConvertedLikeThePythonHermes() throws {
        let record = try run(
            """
            [ "$*" = "--accept-license --accept-gdpr --format=json" ] || { echo "bad arguments: $*" >&2; exit 2; }
            cat <<'EOF'
            \(Self.recorded)
            EOF
            """)
        let result = try #require(record.result, "\(record)")
        #expect(result.downloadMbps == 931.4)
        #expect(result.uploadMbps == 40)
        #expect(result.pingMs == 9.12)
        #expect(result.jitterMs == 0.85)
        #expect(result.ispName == "Example Fibre")
        #expect(result.serverName == "Example")
        #expect(result.serverLocation == "Berlin, Germany")
        #expect(result.serverID == "1234")
        #expect(result.extensions.packetLossPct == 0.5)
        #expect(result.extensions.downloadLatencyMs == 41.2)
        #expect(result.extensions.engine == "ookla-cli")
        #expect(result.extensions.probe != nil)
        // The record's time is when hermes-measure finished, like every other engine.
        #expect(result.timestamp > (try Timestamp(rfc3339: "2026-11-29T10:00:00Z")))
    }

    @Test func anErrorLogIsAFailureWithItsKind() throws {
        let record = try run(
            #"""
            echo '{"type":"log","timestamp":"2026-11-29T10:00:00Z","message":"Limit reached: too many tests","level":"error"}' >&2
            exit 1
            """#)
        let failure = try #require(record.failure, "\(record)")
        #expect(failure.errorKind == .rateLimited)
        #expect(failure.error.contains("Limit reached"))
    }

    @Test func aNonZeroExitWithPlainTextIsAFailure() throws {
        let record = try run("echo 'Cannot retrieve configuration: Could not resolve host' >&2; exit 2")
        let failure = try #require(record.failure, "\(record)")
        #expect(failure.errorKind == .dns)
        #expect(failure.error.contains("exited with status 2"))
        #expect(failure.error.contains("Could not resolve host"))
    }

    @Test func badOutputIsAProtocolFailure() throws {
        let record = try run("echo 'Speedtest by Ookla'; echo '{\"type\":\"result\"'")
        let failure = try #require(record.failure, "\(record)")
        #expect(failure.errorKind == .protocol)
    }

    @Test func aMissingBinaryIsAFailureThatSaysWhatToInstall() throws {
        let record = measure(
            try settings(in: scratch, .ooklaCLI, server: nil) { $0.speedtestCommand = "/nonexistent/speedtest" })
        let failure = try #require(record.failure, "\(record)")
        #expect(failure.errorKind == .internal)
        #expect(failure.error.contains("speedtest.net/apps/cli"))
    }

    @Test func aHangingCLIIsKilledAtTheDeadline() throws {
        let start = ContinuousClock.now
        let record = try run("sleep 30", timeout: .seconds(1))
        #expect(record.failure?.errorKind == .timeout)
        // Killed at the 1 s deadline, not after the stand-in's 30 s.
        #expect(ContinuousClock.now - start < .seconds(15))
    }
}
