import HermesHTTP
import HermesTestSupport
import Testing

extension HermesHTTPTests {
    @Suite struct Streaming {
        @Test func uploadsAGeneratedBodyOfKnownLength() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let length: Int64 = 20_000_000
            let request = HTTPRequest(
                url: "\(server.baseURL)/upload",
                method: .post,
                body: .stream(length: length, source: patternSource())
            )

            let response = try HTTPClient.perform(request)

            #expect(response.status == 200)
            #expect(response.metrics.bytesSent == length)
            let received = try #require(server.requests.first)
            #expect(received.header("Content-Length") == "\(length)")
            #expect(!received.bodyWasChunked)
            #expect(received.bodyByteCount == length)
            #expect(received.bodyFollowsPattern)
        }

        @Test func uploadsAGeneratedBodyOfUnknownLengthChunked() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let length: Int64 = 5_000_000
            let request = HTTPRequest(
                url: "\(server.baseURL)/upload",
                method: .put,
                body: .stream(length: nil, source: patternSource(endingAt: length))
            )

            let response = try HTTPClient.perform(request)

            #expect(response.status == 200)
            let received = try #require(server.requests.first)
            #expect(received.method == "PUT")
            #expect(received.bodyWasChunked)
            #expect(received.header("Content-Length") == nil)
            #expect(received.bodyByteCount == length)
            #expect(received.bodyFollowsPattern)
        }

        @Test func aSourceThatBreaksItsContractFailsTheRequest() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let url = "\(server.baseURL)/upload"

            let short = HTTPRequest(
                url: url,
                method: .post,
                body: .stream(length: 1_000, source: patternSource(endingAt: 500))
            )
            let overfilled = HTTPRequest(
                url: url,
                method: .post,
                body: .stream(length: nil, source: { _, buffer in .filled(buffer.count + 1) })
            )
            let stopping = HTTPRequest(
                url: url,
                method: .post,
                body: .stream(
                    length: nil,
                    source: { offset, buffer in offset < 10_000 ? .filled(min(buffer.count, 1000)) : .abort })
            )

            let shortError = failure(of: short)
            #expect(shortError?.kind == .invalidRequest)
            #expect(shortError?.message.contains("ended after 500 of its declared 1000 bytes") == true)
            #expect(failure(of: overfilled)?.kind == .invalidRequest)
            #expect(failure(of: stopping)?.kind == .aborted)
        }

        @Test func downloadsFiftyMegabytesIntoASinkChunkByChunk() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let length: Int64 = 50_000_000
            let tally = StreamTally()
            let request = HTTPRequest(
                url: "\(server.baseURL)/download?bytes=\(length)",
                responseBody: .stream { chunk in
                    tally.record(chunk)
                    return .proceed
                }
            )

            let response = try HTTPClient.perform(request)

            #expect(response.status == 200)
            #expect(response.body.isEmpty)
            #expect(response.metrics.bytesReceived == length)
            #expect(tally.bytes == length)
            #expect(tally.followsPattern)
            // Never more than libcurl's 100 KiB buffer at once: the body is never held whole.
            #expect(tally.largestChunk <= 100 * 1024)
            #expect(tally.chunks >= Int(length) / (100 * 1024))
        }

        @Test func aDiscardedBodyIsStillCounted() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let response = try HTTPClient.perform(
                HTTPRequest(url: "\(server.baseURL)/download?bytes=10000000", responseBody: .discard)
            )

            #expect(response.body.isEmpty)
            #expect(response.metrics.bytesReceived == 10_000_000)
        }

        @Test(arguments: ["/download?bytes=10000", "/chunked?bytes=10000"])
        func aBodyOverTheLimitIsAProtocolError(path: String) throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let error = failure(
                of: HTTPRequest(url: "\(server.baseURL)\(path)", responseBody: .collect(limit: 1000))
            )

            #expect(error?.kind == .protocol)
            #expect(
                error?.message.contains("larger than the 1000-byte limit") == true, "\(error?.message ?? "")")
        }

        @Test func aBodyExactlyAtTheLimitIsKept() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let fixed = try HTTPClient.perform(
                HTTPRequest(url: "\(server.baseURL)/download?bytes=1000", responseBody: .collect(limit: 1000))
            )
            let chunked = try HTTPClient.perform(
                HTTPRequest(url: "\(server.baseURL)/chunked?bytes=1000", responseBody: .collect(limit: 1000))
            )

            #expect(fixed.body == TestPattern.bytes(count: 1000))
            #expect(chunked.body == TestPattern.bytes(count: 1000))
        }

        @Test func aSinkCanStopTheDownload() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let tally = StreamTally()
            let request = HTTPRequest(
                url: "\(server.baseURL)/download?bytes=50000000",
                responseBody: .stream { chunk in
                    tally.record(chunk)
                    return tally.bytes >= 1_000_000 ? .abort : .proceed
                }
            )

            let error = failure(of: request)

            #expect(error?.kind == .aborted)
            #expect(error?.message.contains("sink stopped") == true)
            #expect(tally.bytes < 50_000_000)
        }
    }
}
