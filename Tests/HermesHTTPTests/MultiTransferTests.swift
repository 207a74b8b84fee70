import Glibc
import HermesHTTP
import HermesTestSupport
import Testing

extension HermesHTTPTests {
    @Suite struct Multi {
        /// What hermes-alert does: four providers at once, one of which never answers.
        @Test func aSilentServerDelaysNoOtherTransfer() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let silent = try TestServer.start()
            defer { silent.stop() }
            let requests = [
                HTTPRequest(url: "\(server.baseURL)/hello"),
                HTTPRequest(
                    url: "\(silent.baseURL)/hang", timeouts: HTTPTimeouts(total: .milliseconds(1500))),
                HTTPRequest(url: "\(server.baseURL)/upload", method: .post, body: .bytes(Array("{}".utf8))),
                HTTPRequest(url: "\(server.baseURL)/missing"),
            ]

            let (results, elapsed) = timed { HTTPClient.performAll(requests) }

            try #require(results.count == 4)
            #expect(results[0].value?.text == "hello")
            #expect(results[1].error?.kind == .timeout)
            #expect(results[2].value?.text == "stored")
            #expect(results[3].value?.status == 404)
            for index in [0, 2, 3] {
                #expect(try #require(results[index].value).metrics.total < .milliseconds(500))
            }
            #expect(elapsed >= .milliseconds(1450))
            // The others took under 500 ms each (above); this only says the silent one ended.
            #expect(elapsed < .seconds(10))
        }

        @Test func progressIsReportedWithLiveCountersOnSchedule() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            // 10 000 bytes in ten drips over about a second, and an upload that ends at once.
            let requests = [
                HTTPRequest(url: "\(server.baseURL)/drip?chunk=1000&count=10&interval=100"),
                HTTPRequest(
                    url: "\(server.baseURL)/upload", method: .post,
                    body: .bytes(Array(repeating: 7, count: 3000))),
            ]
            var reports: [TransferProgress] = []

            let results = HTTPClient.performAll(requests, progressInterval: .milliseconds(100)) { progress in
                reports.append(progress)
                return .proceed
            }

            #expect(results[0].value?.metrics.bytesReceived == 10_000)
            #expect(reports.count >= 5)
            let instants = reports.map(\.instant)
            let gaps = zip(instants.dropFirst(), instants).map { $0 - $1 }
            #expect(gaps.allSatisfy { $0 <= .milliseconds(250) }, "gaps: \(gaps)")
            #expect(reports.first.map { $0.elapsed <= .milliseconds(250) } == true)
            let received = reports.map { $0.transfers[0].bytesReceived }
            #expect(received == received.sorted())
            #expect(received.contains { $0 > 0 && $0 < 10_000 }, "received: \(received)")
            let upload = reports.last?.transfers[1]
            #expect(upload?.isFinished == true)
            #expect(upload?.bytesSent == 3000)
            #expect(upload?.bytesReceived == Int64("stored".utf8.count))
        }

        @Test func cancellingAllStopsEveryUnfinishedTransfer() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let requests =
                Array(
                    repeating: HTTPRequest(url: "\(server.baseURL)/endless", responseBody: .discard), count: 2
                )
                + [HTTPRequest(url: "\(server.baseURL)/hello")]
            var receivedAtCancel: [Int64] = []

            let (results, elapsed) = timed {
                HTTPClient.performAll(requests) { progress in
                    guard progress.elapsed >= .milliseconds(300) else { return .proceed }
                    receivedAtCancel = progress.transfers.map(\.bytesReceived)
                    return .cancelAll
                }
            }

            #expect(results[0].error?.kind == .aborted)
            #expect(results[1].error?.kind == .aborted)
            #expect(results[2].value?.text == "hello")
            #expect(receivedAtCancel.prefix(2).allSatisfy { $0 > 0 })
            // /endless never ends by itself.
            #expect(elapsed < .seconds(10))
        }

        @Test func cancellingOneTransferLeavesTheOthersRunning() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let requests = [
                HTTPRequest(url: "\(server.baseURL)/endless", responseBody: .discard),
                HTTPRequest(url: "\(server.baseURL)/drip?chunk=100&count=5&interval=100"),
            ]

            let results = HTTPClient.performAll(requests) { _ in .cancel([0]) }

            #expect(results[0].error?.kind == .aborted)
            #expect(results[1].value?.body == TestPattern.bytes(count: 500))
        }

        /// What a speed test does: replace each finished transfer with a new one, and add more.
        @Test func transfersStartedFromProgressRunAndReportTheirResults() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            var reported: [Int: Int] = [:]
            var started = 0
            let results = HTTPClient.performAll([HTTPRequest(url: "\(server.baseURL)/hello")]) { progress in
                for (index, result) in progress.finished {
                    #expect(reported[index] == nil, "transfer \(index) reported twice")
                    reported[index] = (try? result.get())?.status
                }
                guard started < 3, !progress.finished.isEmpty else { return .proceed }
                started += 2
                return .start([
                    HTTPRequest(url: "\(server.baseURL)/hello"), HTTPRequest(url: "\(server.baseURL)/missing"),
                ])
            }
            try #require(results.count == 5)
            #expect(results.map { $0.value?.status } == [200, 200, 404, 200, 404])
            // Each transfer was reported once, the last ones too, before the run ended.
            #expect(reported == [0: 200, 1: 200, 2: 404, 3: 200, 4: 404])
        }

        /// Upload rates must count what reached the peer: bytes stuck in our send queue show.
        @Test func bytesTheReceiverHasNotTakenAreUnacknowledged() throws {
            // Listening but never accepting: the kernel completes the handshake and takes data
            // until the receive buffer is full, then the rest waits in the sender's queue.
            let (listener, port) = try TestServer.listenOnLoopback()
            defer { close(listener) }
            let length64: Int64 = 64 << 20
            let request = HTTPRequest(
                url: "http://127.0.0.1:\(port)/up", method: .post,
                body: .stream(length: length64) { offset, buffer in
                    let count = min(Int64(buffer.count), length64 - offset)
                    guard count > 0 else { return .end }
                    buffer.initializeMemory(as: UInt8.self, repeating: 0x55)
                    return .filled(Int(count))
                })
            var seen: TransferSnapshot?
            _ = HTTPClient.performAll([request]) { progress in
                guard progress.elapsed >= .milliseconds(500) else { return .proceed }
                seen = progress.transfers[0]
                return .cancelAll
            }
            let snapshot = try #require(seen)
            #expect(snapshot.bytesSent > 0)
            #expect(snapshot.bytesUnacknowledged > 0, "sent \(snapshot.bytesSent)")
            #expect(snapshot.bytesUnacknowledged <= snapshot.bytesSent)
        }

        @Test func aRequestThatCannotStartFailsAlone() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let results = HTTPClient.performAll([
                HTTPRequest(url: "gopher://127.0.0.1/"),
                HTTPRequest(url: "\(server.baseURL)/hello"),
            ])

            #expect(results[0].error?.kind == .invalidRequest)
            #expect(results[1].value?.text == "hello")
        }

        @Test func aMultiTransferKeepsConnectionsBetweenRuns() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let multi = try MultiTransfer()
            let requests = Array(repeating: HTTPRequest(url: "\(server.baseURL)/hello"), count: 2)

            let first = multi.perform(requests)
            let second = multi.perform(requests)

            // Without multiplexing, two transfers at once need two connections...
            #expect(first.compactMap(\.value).map(\.metrics.newConnections) == [1, 1])
            // ...which the next run finds warm.
            #expect(second.compactMap(\.value).map(\.metrics.newConnections) == [0, 0])
            #expect(Set(server.requests.map(\.connection)) == [1, 2])
        }
    }
}
