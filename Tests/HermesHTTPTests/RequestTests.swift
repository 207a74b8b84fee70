import HermesHTTP
import HermesTestSupport
import Testing

extension HermesHTTPTests {
    @Suite struct Requests {
        @Test func getCollectsTheBodyAndHeaders() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let response = try HTTPClient.perform(HTTPRequest(url: "\(server.baseURL)/hello"))

            #expect(response.status == 200)
            #expect(response.reason == "OK")
            #expect(response.text == "hello")
            #expect(response.headers["content-type"] == "text/plain")
            #expect(response.headers["CONTENT-LENGTH"] == "5")
            #expect(response.headers.values(for: "x-repeated") == ["one", "two"])
            #expect(response.metrics.bytesReceived == 5)
            #expect(response.metrics.remoteAddress == "127.0.0.1")
            #expect(response.metrics.remotePort == Int(server.port))
            #expect(response.metrics.total >= response.metrics.firstByte)
            let received = try #require(server.requests.first)
            #expect(received.method == "GET")
            #expect(received.target == "/hello")
            #expect(received.header("User-Agent") == "hermes")
            #expect(received.bodyByteCount == 0)
        }

        @Test func postSendsExactlyTheGivenHeadersAndBody() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let json = Array(#"{"title":"Hermes","message":"link down","priority":5}"#.utf8)
            var request = HTTPRequest(
                url: "\(server.baseURL)/upload",
                method: .post,
                headers: ["Content-Type": "application/json", "X-Hermes-Probe": "kitchen"],
                body: .bytes(json)
            )
            request.userAgent = "hermes-alert/1"

            let response = try HTTPClient.perform(request)

            #expect(response.status == 200)
            #expect(response.text == "stored")
            #expect(response.metrics.bytesSent == Int64(json.count))
            let received = try #require(server.requests.first)
            #expect(received.method == "POST")
            #expect(received.target == "/upload")
            #expect(received.header("Content-Type") == "application/json")
            #expect(received.header("X-Hermes-Probe") == "kitchen")
            #expect(received.header("Content-Length") == "\(json.count)")
            #expect(received.header("User-Agent") == "hermes-alert/1")
            #expect(received.header("Expect") == nil)
            #expect(received.header("Transfer-Encoding") == nil)
            #expect(received.bodyPrefix == json)
        }

        @Test func otherMethodsCarryTheirBodyWithoutAFormContentType() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            _ = try HTTPClient.perform(
                HTTPRequest(url: "\(server.baseURL)/upload", method: .put, body: .bytes(Array("abc".utf8)))
            )
            _ = try HTTPClient.perform(HTTPRequest(url: "\(server.baseURL)/upload", method: .post))
            let head = try HTTPClient.perform(HTTPRequest(url: "\(server.baseURL)/hello", method: .head))
            _ = try HTTPClient.perform(HTTPRequest(url: "\(server.baseURL)/hello", method: .delete))

            let received = server.requests
            try #require(received.count == 4)
            #expect(received[0].method == "PUT")
            #expect(received[0].bodyPrefix == Array("abc".utf8))
            // libcurl would label any body as an HTML form; an unlabelled body stays unlabelled.
            #expect(received[0].header("Content-Type") == nil)
            #expect(received[1].method == "POST")
            #expect(received[1].header("Content-Length") == "0")
            #expect(received[2].method == "HEAD")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.headers["Content-Length"] == "5")
            #expect(received[3].method == "DELETE")
            #expect(received[3].bodyByteCount == 0)
        }

        @Test func errorStatusesAreResponsesUntilTheCallerSaysOtherwise() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let missing = try HTTPClient.perform(HTTPRequest(url: "\(server.baseURL)/missing"))
            let broken = try HTTPClient.perform(HTTPRequest(url: "\(server.baseURL)/broken"))

            #expect(missing.status == 404)
            #expect(missing.text == "no such thing")
            #expect(!missing.isSuccess)
            #expect(broken.status == 500)
            let error = #expect(throws: HTTPError.self) { try missing.requireSuccess() }
            #expect(error?.kind == .http(status: 404))
            #expect(error?.message == "\(server.baseURL)/missing answered HTTP 404: Not Found")
            #expect(
                Result<HTTPResponse, HTTPError>.success(broken).requiringSuccess().error?.kind
                    == .http(status: 500))
            let ok = try HTTPClient.perform(HTTPRequest(url: "\(server.baseURL)/hello"))
            #expect(try ok.requireSuccess().status == 200)
        }

        @Test func anEasyTransferReusesItsConnection() throws {
            let server = try TestServer.start()
            defer { server.stop() }
            let transfer = try EasyTransfer()

            let first = try transfer.perform(HTTPRequest(url: "\(server.baseURL)/hello"))
            let second = try transfer.perform(
                HTTPRequest(url: "\(server.baseURL)/upload", method: .post, body: .bytes([1, 2, 3]))
            )
            let third = try transfer.perform(HTTPRequest(url: "\(server.baseURL)/hello"))

            #expect(first.metrics.newConnections == 1)
            #expect(second.metrics.newConnections == 0)
            #expect(third.metrics.newConnections == 0)
            #expect(server.requests.map(\.connection) == [1, 1, 1])
            // The POST's options must not leak into the GET that follows it on the same handle.
            #expect(server.requests.map(\.method) == ["GET", "POST", "GET"])
            #expect(server.requests[2].bodyByteCount == 0)
        }

        @Test(arguments: [
            ("not a url", "cannot send request to not a url: "),
            ("ftp://127.0.0.1/file", "cannot send request to ftp://127.0.0.1/file: only http and https"),
            ("//127.0.0.1/no-scheme", "cannot send request to //127.0.0.1/no-scheme: "),
        ])
        func malformedOrForeignURLsAreRejectedBeforeAnyIO(url: String, expectedDetail: String) {
            let error = failure(of: HTTPRequest(url: url))
            #expect(error?.kind == .invalidRequest)
            #expect(error?.message.hasPrefix(expectedDetail) == true, "\(error?.message ?? "")")
        }

        @Test func headerInjectionAndBadMethodsAreRejected() throws {
            let server = try TestServer.start()
            defer { server.stop() }

            let injected = HTTPRequest(url: "\(server.baseURL)/hello", headers: ["X-Note": "a\r\nX-Evil: 1"])
            let badName = HTTPRequest(url: "\(server.baseURL)/hello", headers: ["Bad Name": "x"])
            let badMethod = HTTPRequest(url: "\(server.baseURL)/hello", method: HTTPMethod(rawValue: "GE T"))

            #expect(failure(of: injected)?.kind == .invalidRequest)
            #expect(failure(of: badName)?.kind == .invalidRequest)
            #expect(failure(of: badMethod)?.kind == .invalidRequest)
            #expect(server.requests.isEmpty)
        }
    }
}
