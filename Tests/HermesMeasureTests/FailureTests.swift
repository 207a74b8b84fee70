import HermesCore
import HermesTarget
import HermesTestSupport
import Testing

@testable import HermesMeasure

#if canImport(Glibc)
    import Glibc
#endif

/// Every way a test can fail ends in one failure record with the right kind and a sentence
/// naming what failed.
@Suite struct FailureTests {
    /// State, lock and files of one test, removed after it.
    private let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory()
    }

    private func failure(_ settings: MeasureSettings) throws -> MeasurementFailure {
        let record = measure(settings)
        let failure = try #require(record.failure, "expected a failure, got \(record)")
        #expect(failure.engine == settings.engine.rawValue)
        #expect(!failure.error.isEmpty)
        return failure
    }

    @Test func aRefusedConnectionIsConnect() throws {
        let failure = try failure(try settings(in: scratch, server: "http://127.0.0.1:9"))
        #expect(failure.errorKind == .connect)
        #expect(failure.error.contains("127.0.0.1:9"))
        #expect(failure.serverURL == "http://127.0.0.1:9")
    }

    @Test func anUnresolvableNameIsDNS() throws {
        #expect(try failure(try settings(in: scratch, server: "http://speed.invalid")).errorKind == .dns)
    }

    @Test func tlsToAPlainServerIsTLS() throws {
        let server = try startTarget()
        defer { server.stop() }
        #expect(try failure(try settings(in: scratch, server: "https://\(server.address)")).errorKind == .tls)
    }

    @Test func anErrorStatusIsHTTPWithTheServersMessage() throws {
        let server = try startTarget { $0.failStatus = 503 }
        defer { server.stop() }
        let failure = try failure(try settings(in: scratch, server: server.baseURL))
        #expect(failure.errorKind == .http)
        #expect(failure.error.contains("HTTP 503"))
        #expect(failure.error.contains("injected failure"))
    }

    @Test func aRateLimitBacksOffAndTheNextRunStaysAway() throws {
        let server = try startTarget { $0.rateLimitRetryAfter = 600 }
        defer { server.stop() }
        let settings = try settings(in: scratch, server: server.baseURL)
        let first = try failure(settings)
        #expect(first.errorKind == .rateLimited)
        #expect(first.error.contains("next test not before"))
        let backoff = try #require(RateLimitHold.load(from: settings.stateDirectory))
        let wait = backoff.notBefore.millisecondsSinceEpoch - Timestamp.now().millisecondsSinceEpoch
        #expect(wait > 590_000 && wait <= 600_000)

        let requests = server.statistics.requests
        let second = try failure(settings)
        #expect(second.errorKind == .rateLimited)
        #expect(second.error.hasPrefix("not testing before \(backoff.notBefore.rfc3339)"))
        #expect(server.statistics.requests == requests, "the second run must not contact the server")
    }

    @Test func aStalledStreamFailsWithinItsDeadline() throws {
        let server = try startTarget { $0.stallAfter = 200_000 }
        defer { server.stop() }
        let start = ContinuousClock.now
        let failure = try failure(try settings(in: scratch, server: server.baseURL) { $0.duration = .seconds(4) })
        #expect(failure.errorKind == .timeout)
        #expect(failure.error.contains("stalled"))
        // Within the run's 40 s deadline: the stall detector, not the deadline, ended it.
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test func anEarlyCloseIsProtocol() throws {
        let server = try startTarget { $0.closeAfter = 100_000 }
        defer { server.stop() }
        let failure = try failure(try settings(in: scratch, server: server.baseURL))
        #expect(failure.errorKind == .protocol)
        #expect(failure.error.contains("download"))
    }

    @Test func theDeadlineBoundsTheWholeRun() throws {
        // Every answer 10 s late: only the 2 s deadline can end the run before that.
        let server = try startTarget { $0.responseDelay = .seconds(10) }
        defer { server.stop() }
        let start = ContinuousClock.now
        let failure = try failure(try settings(in: scratch, server: server.baseURL) { $0.timeout = .seconds(2) })
        #expect(failure.errorKind == .timeout)
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(1900) && elapsed < .seconds(8), "took \(elapsed)")
    }

    @Test func noServerInTheListAnswering() throws {
        let list = scratch.file("servers.json")
        let json =
            #"[{"id":1,"name":"a","server":"http://127.0.0.1:9/"},{"id":2,"name":"b","server":"http://127.0.0.1:7/"}]"#
        try FileSystem.atomicReplace(list, with: Array(json.utf8))
        let failure = try failure(try settings(in: scratch, .librespeed, server: nil) { $0.serverList = list })
        #expect(failure.errorKind == .noServer)
        #expect(failure.error.contains("none of the 2 servers"))
    }

    @Test func aMissingServerListIsNoServer() throws {
        let failure = try failure(
            try settings(in: scratch, .librespeed, server: nil) { $0.serverList = "/nonexistent/servers.json" })
        #expect(failure.errorKind == .noServer)
        #expect(failure.error.contains("/nonexistent/servers.json"))
    }

    @Test func aSecondRunWaitsForTheFirstThenGivesUp() throws {
        let server = try startTarget { $0.downBytesPerSecond = TargetConfiguration.bytesPerSecond(megabits: 20) }
        defer { server.stop() }
        let first = try settings(in: scratch, server: server.baseURL) {
            $0.upload = false
            $0.duration = .seconds(3)
        }
        var second = first
        second.lockWait = .milliseconds(500)
        let running = BackgroundThread { _ = measure(first) }
        defer { running?.join() }
        sleepPrecisely(.milliseconds(300))
        let start = ContinuousClock.now
        let failure = try failure(second)
        #expect(failure.errorKind == .timeout)
        #expect(failure.error.contains("another speed test is in progress"))
        // The 500 ms wait, not the first run's whole test (which would end in a result).
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}
