import CCurl
import HermesTestSupport
import Testing

@testable import HermesHTTP

extension HermesHTTPTests {
    @Suite struct Failures {
        @Test func aRefusedConnectionIsAConnectErrorThatHidesSecrets() throws {
            let port = try closedLoopbackPort()
            let request = HTTPRequest(url: "http://alice:s3cret@127.0.0.1:\(port)/push?token=t0ken#frag")

            let error = try #require(failure(of: request))

            #expect(error.kind == .connect)
            #expect(error.curlCode == Int(CURLE_COULDNT_CONNECT.rawValue))
            #expect(error.message.hasPrefix("could not connect to http://127.0.0.1:\(port)/push: "))
            #expect(!error.message.contains("s3cret"))
            #expect(!error.message.contains("alice"))
            #expect(!error.message.contains("t0ken"))
        }

        @Test func aServerThatNeverAnswersTimesOutAfterTheTotalLimit() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let request = HTTPRequest(
                url: "\(server.baseURL)/hang",
                timeouts: HTTPTimeouts(connect: .seconds(1), total: .seconds(1))
            )

            let (error, elapsed) = timed { failure(of: request) }

            #expect(error?.kind == .timeout)
            #expect(error?.message.contains("timed out") == true)
            #expect(elapsed >= .milliseconds(950))
            // /hang never answers: the kind says the limit ended it; this only says it did not
            // hang on, with room for a loaded host.
            #expect(elapsed < .seconds(10))
        }

        @Test func aStalledBodyTripsTheStallGuard() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            // 100 bytes every 100 ms for 30 s: far below 100 kB/s, and well inside the total limit.
            let request = HTTPRequest(
                url: "\(server.baseURL)/drip?chunk=100&count=300&interval=100",
                timeouts: HTTPTimeouts(
                    total: .seconds(60),
                    stallGuard: StallGuard(minimumBytesPerSecond: 100_000, window: .seconds(1))
                )
            )

            let (error, elapsed) = timed { failure(of: request) }

            // The guard's second, not the 30 s drip or the 60 s limit, ended it.
            #expect(error?.kind == .timeout)
            #expect(elapsed < .seconds(15))
        }

        /// A label over 63 bytes cannot be put into a DNS query, so glibc fails the lookup itself:
        /// the same "could not resolve" path as a nonexistent name, without sending a query to
        /// the network (a plain `does-not-exist.invalid` would ask the configured resolver).
        @Test func anUnresolvableNameIsADNSError() throws {
            let host = String(repeating: "a", count: 64) + ".invalid"
            let request = HTTPRequest(
                url: "http://\(host)/",
                timeouts: HTTPTimeouts(connect: .seconds(2), total: .seconds(3))
            )

            let error = try #require(failure(of: request))

            #expect(error.kind == .dns)
            #expect(error.curlCode == Int(CURLE_COULDNT_RESOLVE_HOST.rawValue))
            #expect(error.message.contains(host))
        }

        /// Over https, libcurl sends a TLS ClientHello; the plain server answers `HTTP/1.1 400`,
        /// which OpenSSL reads as a record with a wrong version number: CURLE_SSL_CONNECT_ERROR.
        @Test func httpsToAPlainHTTPServerIsATLSError() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let error = try #require(failure(of: HTTPRequest(url: "https://127.0.0.1:\(server.port)/hello")))

            #expect(error.kind == .tls)
            #expect(error.curlCode == Int(CURLE_SSL_CONNECT_ERROR.rawValue))
            #expect(error.message.hasPrefix("TLS with https://127.0.0.1:\(server.port)/hello failed: "))
        }

        /// libcurl refuses a reply without a status line (it would be HTTP/0.9).
        @Test func aReplyThatIsNotHTTPIsAProtocolError() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let error = failure(of: HTTPRequest(url: "\(server.baseURL)/garbage"))

            #expect(error?.kind == .protocol)
        }

        @Test func responseHeadersBeyondTheLimitAreAProtocolError() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let error = failure(of: HTTPRequest(url: "\(server.baseURL)/huge-headers"))

            #expect(error?.kind == .protocol)
            #expect(error?.message.contains("headers exceed") == true)
        }

        /// OpenSSL loads the CA bundle before the handshake, so a missing file fails even
        /// against this plain server, and shows that `caFile` reaches libcurl.
        @Test func aMissingCAFileIsATLSError() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            var request = HTTPRequest(url: "https://127.0.0.1:\(server.port)/hello")
            request.caFile = "/nonexistent/hermes-ca.pem"

            let error = failure(of: request)

            #expect(error?.kind == .tls)
            #expect(error?.curlCode == Int(CURLE_SSL_CACERT_BADFILE.rawValue))
        }

        @Test func anotherThreadCanCancelABlockingRequest() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let clock = ContinuousClock()
            let cancelAt = clock.now + .milliseconds(200)
            var request = HTTPRequest(
                url: "\(server.baseURL)/hang",
                timeouts: HTTPTimeouts(total: .seconds(10))
            )
            request.isCancelled = { clock.now >= cancelAt }

            let (error, elapsed) = timed { failure(of: request) }

            #expect(error?.kind == .aborted)
            #expect(error?.message.contains("cancelled by the caller") == true)
            // libcurl polls an idle transfer about once a second; well before the 10 s limit.
            #expect(elapsed < .seconds(8))
        }

        @Test func curlCodesMapToTheRecordErrorKinds() {
            let expected: [(CURLcode, HTTPError.Kind)] = [
                (CURLE_COULDNT_RESOLVE_HOST, .dns),
                (CURLE_COULDNT_RESOLVE_PROXY, .dns),
                (CURLE_COULDNT_CONNECT, .connect),
                (CURLE_RECV_ERROR, .connect),
                (CURLE_SEND_ERROR, .connect),
                (CURLE_OPERATION_TIMEDOUT, .timeout),
                (CURLE_SSL_CONNECT_ERROR, .tls),
                (CURLE_PEER_FAILED_VERIFICATION, .tls),
                (CURLE_SSL_CACERT_BADFILE, .tls),
                (CURLE_SSL_CERTPROBLEM, .tls),
                (CURLE_TOO_MANY_REDIRECTS, .protocol),
                (CURLE_GOT_NOTHING, .protocol),
                (CURLE_WEIRD_SERVER_REPLY, .protocol),
                (CURLE_UNSUPPORTED_PROTOCOL, .protocol),
                (CURLE_FILESIZE_EXCEEDED, .protocol),
                (CURLE_PARTIAL_FILE, .protocol),
                (CURLE_HTTP2, .protocol),
                (CURLE_ABORTED_BY_CALLBACK, .aborted),
                (CURLE_WRITE_ERROR, .aborted),
                (CURLE_URL_MALFORMAT, .invalidRequest),
                (CURLE_OUT_OF_MEMORY, .internal),
                (CURLE_FAILED_INIT, .internal),
            ]
            for (code, kind) in expected {
                #expect(HTTPError.Kind(curlCode: code) == kind, "CURLcode \(code.rawValue)")
            }
        }

        @Test(arguments: [
            ("https://user:pw@example.net:8443/a/b?token=x#f", "https://example.net:8443/a/b"),
            ("http://example.net", "http://example.net/"),
            ("http://[::1]:8080/x?y", "http://[::1]:8080/x"),
            ("not a url?token=x", "not a url"),
            ("weird://user:pw@host/p?q", "weird://host/p"),
        ])
        func displayURLsDropCredentialsQueryAndFragment(url: String, shown: String) {
            #expect(HTTPRequest(url: url).displayURL == shown)
        }

        @Test func aCallerCanHideASecretPath() {
            var request = HTTPRequest(url: "http://127.0.0.1:1/services/T000/B000/secret")
            request.displayURL = "Slack webhook"

            #expect(failure(of: request)?.message.hasPrefix("could not connect to Slack webhook") == true)
        }
    }
}
