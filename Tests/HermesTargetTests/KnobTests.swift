import HermesCore
import HermesHTTP
import HermesTarget
import Testing

@Suite(.serialized) struct KnobTests {
    @Test func pacingHoldsTheRateWithinFivePercent() throws {
        let server = try startServer { $0.downBytesPerSecond = TargetConfiguration.bytesPerSecond(megabits: 50) }
        defer { server.stop() }
        let bytes: Int64 = 12_500_000  // 2 s at 50 Mbit/s
        let response = try HTTPClient.perform(
            HTTPRequest(url: server.baseURL + "/__down?bytes=\(bytes)", responseBody: .discard))
        #expect(response.metrics.bytesReceived == bytes)
        let seconds = (response.metrics.total - response.metrics.firstByte).seconds
        let megabits = Double(bytes) * 8 / seconds / 1e6
        #expect(abs(megabits - 50) <= 2.5, "measured \(megabits) Mbit/s over \(seconds) s")
    }

    @Test func parallelStreamsShareTheLinkRate() throws {
        let server = try startServer { $0.downBytesPerSecond = TargetConfiguration.bytesPerSecond(megabits: 80) }
        defer { server.stop() }
        let bytes: Int64 = 5_000_000  // 4 streams × 5 MB = 2 s at 80 Mbit/s in total
        let start = ContinuousClock.now
        let results = HTTPClient.performAll(
            Array(
                repeating: HTTPRequest(url: server.baseURL + "/__down?bytes=\(bytes)", responseBody: .discard),
                count: 4))
        let seconds = (ContinuousClock.now - start).seconds
        #expect(results.allSatisfy { (try? $0.get().metrics.bytesReceived) == bytes })
        let megabits = Double(4 * bytes) * 8 / seconds / 1e6
        #expect(abs(megabits - 80) <= 4, "4 streams moved \(megabits) Mbit/s in total over \(seconds) s")
    }

    @Test func bufferbloatDelaysProbesOnlyWhileTheLinkIsSaturated() throws {
        let server = try startServer {
            $0.downBytesPerSecond = TargetConfiguration.bytesPerSecond(megabits: 40)
            $0.bufferbloat = .milliseconds(150)
        }
        defer { server.stop() }
        let probe = try EasyTransfer()
        func probeMilliseconds() throws -> Double {
            let response = try probe.perform(HTTPRequest(url: server.baseURL + "/__down?bytes=0"))
            return (response.metrics.firstByte - response.metrics.connected).seconds * 1000
        }
        _ = try probeMilliseconds()
        let idle = try probeMilliseconds()
        #expect(idle < 20, "idle probe took \(idle) ms")

        let download = BackgroundThread {
            _ = try? HTTPClient.perform(
                HTTPRequest(url: server.baseURL + "/__down?bytes=10000000", responseBody: .discard))
        }
        defer { download?.join() }
        sleepPrecisely(.milliseconds(500))
        let loaded = try probeMilliseconds()
        #expect(loaded >= 120 && loaded <= 220, "probe under load took \(loaded) ms")
    }

    @Test func uploadPacingSlowsTheSender() throws {
        let server = try startServer { $0.upBytesPerSecond = TargetConfiguration.bytesPerSecond(megabits: 40) }
        defer { server.stop() }
        let length: Int64 = 15_000_000  // 3 s at 40 Mbit/s; socket buffers absorb the first few MB
        let response = try HTTPClient.perform(
            HTTPRequest(
                url: server.baseURL + "/__up", method: .post,
                body: .stream(length: length) { offset, buffer in
                    let count = min(Int64(buffer.count), length - offset)
                    guard count > 0 else { return .end }
                    buffer.initializeMemory(as: UInt8.self, repeating: 0x30)
                    return .filled(Int(count))
                }))
        #expect(response.status == 200)
        let seconds = response.metrics.total.seconds
        #expect(seconds >= 2.2 && seconds <= 3.3, "upload took \(seconds) s")
    }

    @Test func addedDelayShowsInTimeToFirstByte() throws {
        let server = try startServer { $0.responseDelay = .milliseconds(30) }
        defer { server.stop() }
        let transfer = try EasyTransfer()
        _ = try transfer.perform(HTTPRequest(url: server.baseURL + "/__down?bytes=0"))
        for _ in 0..<3 {
            let response = try transfer.perform(HTTPRequest(url: server.baseURL + "/__down?bytes=0"))
            let milliseconds = (response.metrics.firstByte - response.metrics.connected).seconds * 1000
            #expect(abs(milliseconds - 30) <= 5, "time to first byte \(milliseconds) ms")
        }
    }

    @Test func failStatusAnswersEveryRequest() throws {
        let server = try startServer { $0.failStatus = 503 }
        defer { server.stop() }
        for path in ["/__down?bytes=10", "/getIP", "/nowhere"] {
            #expect(try server.get(path).status == 503, "\(path)")
        }
    }

    @Test func rateLimitAnswers429WithRetryAfter() throws {
        let server = try startServer { $0.rateLimitRetryAfter = 7 }
        defer { server.stop() }
        let response = try server.get("/garbage?ckSize=1")
        #expect(response.status == 429)
        #expect(response.headers["Retry-After"] == "7")
    }

    @Test func stallLeadsToAClientTimeout() throws {
        let server = try startServer { $0.stallAfter = 100_000 }
        defer { server.stop() }
        let start = ContinuousClock.now
        let request = HTTPRequest(
            url: server.baseURL + "/__down?bytes=1000000", responseBody: .discard,
            timeouts: HTTPTimeouts(
                total: .seconds(30), stallGuard: StallGuard(minimumBytesPerSecond: 1, window: .seconds(1))))
        #expect {
            _ = try HTTPClient.perform(request)
        } throws: { error in
            (error as? HTTPError)?.kind == .timeout
        }
        // libcurl averages the rate over a few seconds, so the stall shows after roughly 5 to 8 s,
        // well before the 30 s total limit.
        #expect((ContinuousClock.now - start) < .seconds(15))
        #expect(server.statistics.bodyBytesSent == 100_000)
    }

    @Test func earlyCloseLeadsToAClientError() throws {
        let server = try startServer { $0.closeAfter = 50_000 }
        defer { server.stop() }
        #expect(throws: HTTPError.self) {
            _ = try HTTPClient.perform(
                HTTPRequest(url: server.baseURL + "/__down?bytes=1000000", responseBody: .discard))
        }
        #expect(server.statistics.bodyBytesSent == 50_000)
    }

    @Test func manyConcurrentConnectionsAreAllServed() throws {
        let server = try startServer()
        defer { server.stop() }
        let requests = Array(
            repeating: HTTPRequest(url: server.baseURL + "/__down?bytes=1000000", responseBody: .discard), count: 200)
        let results = HTTPClient.performAll(requests)
        #expect(results.allSatisfy { (try? $0.get().metrics.bytesReceived) == 1_000_000 })
        #expect(server.statistics.connections == 200)
        #expect(server.statistics.refusedConnections == 0)
    }

    @Test func connectionsPastTheLimitAreRefusedWith503() throws {
        let server = try startServer { $0.maxConnections = 3 }
        defer { server.stop() }
        let held = try (0..<3).map { _ in try EasyTransfer() }
        for transfer in held {
            #expect(try transfer.perform(HTTPRequest(url: server.baseURL + "/empty")).status == 200)
        }
        // Three kept-alive connections are open: a fourth is refused at once.
        try withExtendedLifetime(held) {
            let refused = try HTTPClient.perform(HTTPRequest(url: server.baseURL + "/empty"))
            #expect(refused.status == 503)
            #expect(refused.headers["Retry-After"] == "1")
            #expect(server.statistics.refusedConnections == 1)
            #expect(server.statistics.openConnections == 3)
        }
    }
}
