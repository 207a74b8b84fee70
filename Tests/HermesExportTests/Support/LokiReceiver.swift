import HermesTestSupport

/// Loki's push endpoint as the tests see it: the shared loopback `TestServer`, keeping request
/// bodies whole and answering from a script (status, body, headers), then 204 once the script is
/// used up.
struct LokiReceiver {
    typealias Request = RecordedRequest

    struct Reply: Sendable {
        var status: Int
        var body: String = ""
        var headers: [String: String] = [:]

        var testReply: TestReply {
            .respond(
                status: status, reason: "Scripted", headers: headers.map { ($0.key, $0.value) }, body: Array(body.utf8))
        }
    }

    let server: TestServer

    init(script: [Reply] = []) throws {
        let noContent = TestReply.respond(status: 204, reason: "No Content", headers: [], body: [])
        server = try TestServer.start(
            keptBodyBytes: 64 << 20, route: TestRoutes.scripted(script.map(\.testReply), then: noContent))
    }

    var url: String { server.baseURL }
    var requests: [Request] { server.requests }

    func stop() { server.stop() }
}

extension RecordedRequest {
    /// The whole body, for a server that keeps it whole.
    var body: [UInt8] { bodyPrefix }
}
