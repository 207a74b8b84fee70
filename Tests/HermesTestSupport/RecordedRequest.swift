import Synchronization

/// A request as the test server received it.
package struct RecordedRequest: Sendable {
    /// Which accepted connection carried it, counting from 1: equal numbers mean a reused
    /// connection.
    package let connection: Int
    package let method: String
    package let target: String
    package let headers: [(name: String, value: String)]
    package var bodyByteCount: Int64 = 0
    /// The first `keptBodyBytes` of the body.
    package var bodyPrefix: [UInt8] = []
    /// Whether every body byte equals `TestPattern` at its offset.
    package var bodyFollowsPattern = true
    package var bodyWasChunked = false
    /// How much of the body `bodyPrefix` keeps: the server's choice.
    package let keptBodyBytes: Int

    package static let defaultKeptBodyBytes = 64 * 1024

    package init?(head: [UInt8], connection: Int, keptBodyBytes: Int = RecordedRequest.defaultKeptBodyBytes) {
        self.keptBodyBytes = keptBodyBytes
        let lines = String(decoding: head, as: UTF8.self)
            .split(separator: "\r\n", omittingEmptySubsequences: false)
        let requestLine = lines.first?.split(separator: " ") ?? []
        guard requestLine.count == 3 else { return nil }
        self.connection = connection
        method = String(requestLine[0])
        target = String(requestLine[1])
        headers = lines.dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            return (String(line[..<colon]), String(value))
        }
    }

    package var path: String { String(target.prefix { $0 != "?" }) }

    /// The integer value of `name` in the query string.
    package func query(_ name: String) -> Int? {
        guard let questionMark = target.firstIndex(of: "?") else { return nil }
        for pair in target[target.index(after: questionMark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name { return Int(parts[1]) }
        }
        return nil
    }

    package func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    package mutating func recordBody(_ chunk: UnsafeRawBufferPointer) {
        if bodyFollowsPattern, !TestPattern.matches(chunk, at: bodyByteCount) {
            bodyFollowsPattern = false
        }
        let kept = min(chunk.count, max(0, keptBodyBytes - bodyPrefix.count))
        bodyPrefix += chunk.prefix(kept)
        bodyByteCount += Int64(chunk.count)
    }
}

/// What the test server sends back.
package enum TestReply: Sendable {
    case respond(status: Int, reason: String, headers: [(String, String)], body: [UInt8])
    /// 200 with `Transfer-Encoding: chunked`, so the client cannot know the length in advance.
    case chunked(body: [UInt8], chunkSize: Int)
    /// 200 with `byteCount` bytes of `TestPattern`.
    case generated(byteCount: Int)
    /// 200 with `chunks` pattern chunks of `chunkSize` bytes, one every `interval`.
    case drip(chunkSize: Int, chunks: Int, interval: Duration)
    /// 200 announcing a terabyte and sending until the client leaves.
    case endless
    /// Reads and ignores whatever arrives, never answering, until the client hangs up.
    case neverAnswer
    /// These bytes, then the connection closes.
    case raw([UInt8])
    /// These bytes, then the connection is reset (RST, not FIN): the client's next read fails.
    case reset(after: [UInt8])

    package static func ok(_ body: String, headers: [(String, String)] = []) -> TestReply {
        .respond(status: 200, reason: "OK", headers: headers, body: Array(body.utf8))
    }
}

/// The routes every test shares; each test uses the ones it needs.
package enum TestRoutes {
    /// Answers with `replies` in turn, whatever was asked, then with `then` for ever: a receiver
    /// that fails a few times and recovers, or refuses one batch.
    package static func scripted(_ replies: [TestReply], then: TestReply) -> @Sendable (RecordedRequest) -> TestReply {
        let script = Mutex(replies[...])
        return { _ in script.withLock { $0.popFirst() } ?? then }
    }

    package static let standard: @Sendable (RecordedRequest) -> TestReply = { request in
        switch request.path {
        case "/hello":
            .ok(
                "hello",
                headers: [("Content-Type", "text/plain"), ("X-Repeated", "one"), ("X-Repeated", "two")])
        case "/upload":
            .ok("stored")
        case "/missing":
            .respond(status: 404, reason: "Not Found", headers: [], body: Array("no such thing".utf8))
        case "/broken":
            .respond(status: 500, reason: "Internal Server Error", headers: [], body: Array("oops".utf8))
        case "/redirect":
            .respond(status: 302, reason: "Found", headers: [("Location", "/hello")], body: [])
        case "/loop":
            .respond(status: 302, reason: "Found", headers: [("Location", "/loop")], body: [])
        case "/download":
            .generated(byteCount: request.query("bytes") ?? 0)
        case "/chunked":
            .chunked(body: TestPattern.bytes(count: request.query("bytes") ?? 0), chunkSize: 1000)
        case "/drip":
            .drip(
                chunkSize: request.query("chunk") ?? 1000,
                chunks: request.query("count") ?? 10,
                interval: .milliseconds(request.query("interval") ?? 100)
            )
        case "/endless":
            .endless
        case "/hang":
            .neverAnswer
        case "/huge-headers":
            .ok("", headers: (0..<30).map { ("X-Filler-\($0)", String(repeating: "f", count: 10_000)) })
        case "/garbage":
            .raw(Array("this is not HTTP\r\n\r\n".utf8))
        default:
            .respond(status: 404, reason: "Not Found", headers: [], body: [])
        }
    }
}
