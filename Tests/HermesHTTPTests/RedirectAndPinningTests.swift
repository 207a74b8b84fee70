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

        /// The environment's proxy would connect wherever it likes, bypassing the pin.
        @Test func aPinnedRequestNeverGoesThroughTheEnvironmentsProxy() throws {
            let proxy = try TestServer.start { _ in .ok("from the proxy") }
            defer { proxy.stop() }
            let server = try TestServer.start()
            defer { server.stop() }
            var pinned = HTTPRequest(url: "http://pinned.example:\(server.port)/hello")
            pinned.pinnedAddress = "127.0.0.1"

            let (viaProxy, direct) = try withEnvironmentProxy(proxy.baseURL) {
                (
                    try HTTPClient.perform(HTTPRequest(url: "http://unpinned.example:\(server.port)/hello")),
                    try HTTPClient.perform(pinned)
                )
            }

            #expect(viaProxy.text == "from the proxy", "the proxy variable is in effect")
            #expect(direct.text == "hello")
            #expect(proxy.requests.map(\.target) == ["http://unpinned.example:\(server.port)/hello"])
            #expect(server.requests.map(\.target) == ["/hello"])
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

/// Runs `body` with `http_proxy` set to `proxy`. Other suites may run meanwhile in this process:
/// `no_proxy` keeps the loopback names they use off the proxy, so only the made-up host names
/// of the caller can reach it.
private func withEnvironmentProxy<Result>(_ proxy: String, _ body: () throws -> Result) rethrows -> Result {
    let names = ["http_proxy", "no_proxy"]
    let saved = names.map { getenv($0).map { String(cString: $0) } }
    setenv("no_proxy", "127.0.0.1,localhost,::1", 1)
    setenv("http_proxy", proxy, 1)
    defer {
        for (name, value) in zip(names, saved) {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
    }
    return try body()
}
