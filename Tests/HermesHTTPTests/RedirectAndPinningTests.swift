import HermesHTTP
import HermesTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension HermesHTTPTests {
    @Suite struct RedirectsAndPinning {
        @Test func aRedirectIsReturnedUnlessFollowingWasAskedFor() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let response = try HTTPClient.perform(HTTPRequest(url: "\(server.baseURL)/redirect"))

            #expect(response.status == 302)
            #expect(response.headers["Location"] == "/hello")
            #expect(response.metrics.redirectsFollowed == 0)
            #expect(server.requests.map(\.target) == ["/redirect"])
        }

        @Test func aRedirectIsFollowedWhenAskedFor() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let response = try HTTPClient.perform(
                HTTPRequest(url: "\(server.baseURL)/redirect", redirects: .follow(limit: 3))
            )

            #expect(response.status == 200)
            #expect(response.text == "hello")
            // Headers are the final response's, not the redirect's.
            #expect(response.headers["Location"] == nil)
            #expect(response.headers["Content-Type"] == "text/plain")
            #expect(response.metrics.redirectsFollowed == 1)
            #expect(server.requests.map(\.target) == ["/redirect", "/hello"])
        }

        @Test func aRedirectLoopStopsAtTheLimit() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let error = failure(of: HTTPRequest(url: "\(server.baseURL)/loop", redirects: .follow(limit: 2)))

            #expect(error?.kind == .protocol)
            #expect(server.requests.count == 3)
        }

        @Test func aPinnedAddressIsConnectedToWhileTheURLKeepsItsHost() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            var request = HTTPRequest(url: "http://pinned.example:\(server.port)/hello")
            request.pinnedAddress = "127.0.0.1"

            let response = try HTTPClient.perform(request)

            #expect(response.status == 200)
            #expect(response.text == "hello")
            #expect(response.metrics.remoteAddress == "127.0.0.1")
            #expect(server.requests.first?.header("Host") == "pinned.example:\(server.port)")
        }

        @Test func aPinnedRequestDoesNotRideOnAnUnpinnedConnection() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let transfer = try EasyTransfer()
            var pinned = HTTPRequest(url: "http://localhost:\(server.port)/hello")
            pinned.pinnedAddress = "127.0.0.1"

            _ = try transfer.perform(HTTPRequest(url: "http://localhost:\(server.port)/hello"))
            let response = try transfer.perform(pinned)

            #expect(response.metrics.newConnections == 1)
            #expect(server.requests.map(\.connection) == [1, 2])
        }

        @Test func aPinnedRequestMayNotFollowRedirects() {
            var request = HTTPRequest(url: "http://pinned.example/hello", redirects: .follow(limit: 3))
            request.pinnedAddress = "127.0.0.1"

            let error = failure(of: request)

            #expect(error?.kind == .invalidRequest)
            #expect(error?.message.contains("cannot follow redirects") == true)
        }

        @Test func aPinnedAddressMustBeNumeric() {
            var request = HTTPRequest(url: "http://pinned.example/hello")
            request.pinnedAddress = "evil.example"

            let error = failure(of: request)

            #expect(error?.kind == .invalidRequest)
            #expect(error?.message.contains("not a numeric IPv4 or IPv6 address") == true)
        }
    }
}
