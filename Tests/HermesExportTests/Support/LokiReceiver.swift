import Foundation
import HermesTestSupport
import Synchronization

/// A stand-in for Loki's push endpoint on 127.0.0.1: records every request whole and answers
/// from a script (status, body, headers), then 204 once the script is used up.
final class LokiReceiver: Sendable {
    struct Request: Sendable {
        var method: String
        var target: String
        var headers: [String: String]
        var body: [UInt8]

        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    struct Reply: Sendable {
        var status: Int
        var body: String = ""
        var headers: [String: String] = [:]
    }

    let port: UInt16
    private let listenSocket: Int32
    private let state: Mutex<(requests: [Request], script: [Reply], stopping: Bool)>

    var url: String { "http://127.0.0.1:\(port)" }
    var requests: [Request] { state.withLock { $0.requests } }

    init(script: [Reply] = []) throws {
        let (descriptor, boundPort) = try TestServer.listenOnLoopback()
        listenSocket = descriptor
        port = boundPort
        state = Mutex(([], script, false))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    func stop() {
        state.withLock { $0.stopping = true }
        shutdown(listenSocket, Int32(SHUT_RDWR))
        close(listenSocket)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listenSocket, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let thread = Thread { [self] in serve(client) }
            thread.start()
        }
    }

    private func serve(_ socket: Int32) {
        defer { close(socket) }
        var buffer: [UInt8] = []
        while let request = Self.readRequest(socket, buffer: &buffer) {
            let reply = state.withLock { state -> Reply in
                state.requests.append(request)
                return state.script.isEmpty ? Reply(status: 204) : state.script.removeFirst()
            }
            var head = "HTTP/1.1 \(reply.status) Scripted\r\nContent-Length: \(reply.body.utf8.count)\r\n"
            for (name, value) in reply.headers { head += "\(name): \(value)\r\n" }
            let bytes = Array((head + "\r\n" + reply.body).utf8)
            guard bytes.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count
            else { return }
        }
    }

    private static func readRequest(_ socket: Int32, buffer: inout [UInt8]) -> Request? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            if buffer.count >= 4 {
                headEnd = (0...(buffer.count - 4)).first { buffer[$0..<$0 + 4].elementsEqual(separator) }
            }
            if headEnd == nil, !fill(socket, &buffer) { return nil }
        }
        guard let headEnd else { return nil }
        let lines = String(decoding: buffer[..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count == 3 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        buffer.removeFirst(headEnd + 4)
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < length {
            guard fill(socket, &buffer) else { return nil }
        }
        let body = Array(buffer[..<length])
        buffer.removeFirst(length)
        return Request(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body)
    }

    private static func fill(_ socket: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffer += chunk[..<count]
        return true
    }
}
