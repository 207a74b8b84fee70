import Glibc
import Synchronization

/// A small HTTP/1.1 server on 127.0.0.1 and an ephemeral port, one thread per connection, with
/// just enough behaviour to put the client through every case the tests need: normal answers,
/// large generated bodies, paced and endless bodies, silence, and non-HTTP bytes. It records
/// each request it receives. Threads are pthreads, not Swift tasks, so a blocking test never
/// starves the server.
package final class TestServer: Sendable {
    package struct StartError: Error, CustomStringConvertible {
        package let description: String
    }

    package let port: UInt16
    private let listenSocket: Int32
    private let route: @Sendable (RecordedRequest) -> TestReply
    private let keptBodyBytes: Int
    private let state = Mutex(State())

    private struct State {
        var requests: [RecordedRequest] = []
        var clientSockets: Set<Int32> = []
        var connectionThreads: [pthread_t] = []
        var acceptThread: pthread_t?
        var connectionsAccepted = 0
        var isStopping = false
    }

    package var baseURL: String { "http://127.0.0.1:\(port)" }

    package var requests: [RecordedRequest] { state.withLock { $0.requests } }

    /// Starts a server answering with `route`; by default the routes every test shares. Each
    /// request's body is kept up to `keptBodyBytes` (a receiver whose bodies a test decodes
    /// keeps them whole).
    package static func start(
        keptBodyBytes: Int = RecordedRequest.defaultKeptBodyBytes, port: UInt16 = 0,
        route: @escaping @Sendable (RecordedRequest) -> TestReply = TestRoutes.standard
    ) throws -> TestServer {
        let (listenSocket, port) = try listenOnLoopback(port: port)
        let server = TestServer(listenSocket: listenSocket, port: port, keptBodyBytes: keptBodyBytes, route: route)
        let thread = try spawnThread { server.acceptConnections() }
        server.state.withLock { $0.acceptThread = thread }
        return server
    }

    private init(
        listenSocket: Int32, port: UInt16, keptBodyBytes: Int, route: @escaping @Sendable (RecordedRequest) -> TestReply
    ) {
        self.listenSocket = listenSocket
        self.port = port
        self.keptBodyBytes = keptBodyBytes
        self.route = route
    }

    /// Closes every connection, waits for all server threads and releases the port.
    package func stop() {
        let acceptThread = state.withLock { state in
            state.isStopping = true
            for socket in state.clientSockets {
                shutdown(socket, Int32(SHUT_RDWR))
            }
            return state.acceptThread
        }
        shutdown(listenSocket, Int32(SHUT_RDWR))
        if let acceptThread {
            pthread_join(acceptThread, nil)
        }
        for thread in state.withLock({ $0.connectionThreads }) {
            pthread_join(thread, nil)
        }
        close(listenSocket)
    }

    private func acceptConnections() {
        while true {
            let client = accept(listenSocket, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let connection = state.withLock { state in
                state.connectionsAccepted += 1
                state.clientSockets.insert(client)
                if state.isStopping {
                    shutdown(client, Int32(SHUT_RDWR))
                }
                return state.connectionsAccepted
            }
            guard let thread = try? Self.spawnThread({ self.serve(client, connection: connection) }) else {
                forget(client)
                continue
            }
            state.withLock { $0.connectionThreads.append(thread) }
        }
    }

    private func serve(_ socket: Int32, connection: Int) {
        defer { forget(socket) }
        var reader = SocketReader(socket: socket)
        while true {
            guard let head = reader.readHead() else { return }
            guard let first = head.first, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) else {
                // Not HTTP (a TLS ClientHello, for one): answer as a plain server would.
                _ = sendAll(
                    socket,
                    Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
                return
            }
            guard var request = RecordedRequest(head: head, connection: connection, keptBodyBytes: keptBodyBytes)
            else { return }
            if request.header("Expect")?.lowercased() == "100-continue" {
                guard sendAll(socket, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
            }
            guard reader.readBody(of: &request) else { return }
            state.withLock { $0.requests.append(request) }
            let keepOpen = reply(route(request), to: request, on: socket, reader: &reader)
            guard keepOpen, request.header("Connection")?.lowercased() != "close" else { return }
        }
    }

    /// Returns whether the connection can carry another request.
    private func reply(
        _ reply: TestReply,
        to request: RecordedRequest,
        on socket: Int32,
        reader: inout SocketReader
    ) -> Bool {
        switch reply {
        case .respond(let status, let reason, let headers, let body):
            var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Length: \(body.count)\r\n"
            for (name, value) in headers {
                head += "\(name): \(value)\r\n"
            }
            head += "\r\n"
            let sendsBody = request.method != "HEAD"
            return sendAll(socket, Array(head.utf8) + (sendsBody ? body : []))
        case .chunked(let body, let chunkSize):
            var message = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            var start = 0
            while start < body.count {
                let end = min(body.count, start + max(1, chunkSize))
                message +=
                    Array("\(String(end - start, radix: 16))\r\n".utf8) + body[start..<end]
                    + Array("\r\n".utf8)
                start = end
            }
            message += Array("0\r\n\r\n".utf8)
            return sendAll(socket, message)
        case .generated(let byteCount):
            guard sendAll(socket, Array("HTTP/1.1 200 OK\r\nContent-Length: \(byteCount)\r\n\r\n".utf8))
            else {
                return false
            }
            return sendPattern(socket, count: Int64(byteCount), pace: nil)
        case .drip(let chunkSize, let chunks, let interval):
            let head = "HTTP/1.1 200 OK\r\nContent-Length: \(chunkSize * chunks)\r\n\r\n"
            guard sendAll(socket, Array(head.utf8)) else { return false }
            for chunk in 0..<chunks {
                let offset = Int64(chunk * chunkSize)
                let sent = TestPattern.withChunk(at: offset, count: chunkSize) { sendAll(socket, $0) }
                guard sent else { return false }
                sleep(for: interval)
            }
            return true
        case .endless:
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n"
            guard sendAll(socket, Array(head.utf8)) else { return false }
            // Paced so it cannot eat the CPU the client under test needs; ends when the client
            // hangs up or the server stops.
            _ = sendPattern(socket, count: 1_000_000_000_000, pace: (64 * 1024, .milliseconds(1)))
            return false
        case .neverAnswer:
            reader.drainUntilClosed()
            return false
        case .raw(let bytes):
            _ = sendAll(socket, bytes)
            return false
        case .reset(let bytes):
            _ = sendAll(socket, bytes)
            // A zero linger time makes close() send RST.
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(socket, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            return false
        }
    }

    private func sendPattern(_ socket: Int32, count: Int64, pace: (chunk: Int, interval: Duration)?) -> Bool {
        var offset: Int64 = 0
        let chunkLimit = pace?.chunk ?? TestPattern.maximumChunk
        while offset < count {
            let chunk = Int(min(Int64(chunkLimit), count - offset))
            guard TestPattern.withChunk(at: offset, count: chunk, { sendAll(socket, $0) }) else {
                return false
            }
            offset += Int64(chunk)
            if let pace { sleep(for: pace.interval) }
        }
        return true
    }

    private func forget(_ socket: Int32) {
        state.withLock { _ = $0.clientSockets.remove(socket) }
        close(socket)
    }

    /// A socket listening on 127.0.0.1 and `port` (0: a free one), and that port. Nothing
    /// accepts on it unless the caller does.
    package static func listenOnLoopback(port: UInt16 = 0) throws -> (socket: Int32, port: UInt16) {
        let listenSocket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listenSocket >= 0 else { throw StartError(description: "socket() failed: errno \(errno)") }
        var reuse: Int32 = 1
        setsockopt(listenSocket, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(listenSocket, socketAddress, length) == 0
                    && listen(listenSocket, 64) == 0
                    && getsockname(listenSocket, socketAddress, &length) == 0
            }
        }
        guard bound else {
            close(listenSocket)
            throw StartError(description: "could not listen on 127.0.0.1: errno \(errno)")
        }
        return (listenSocket, UInt16(bigEndian: address.sin_port))
    }

    private static func spawnThread(_ body: @escaping @Sendable () -> Void) throws -> pthread_t {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { context in
                guard let context else { return nil }
                Unmanaged<ThreadBody>.fromOpaque(context).takeRetainedValue().body()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            throw StartError(description: "pthread_create failed: \(result)")
        }
        return thread
    }
}

private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// A port that was just free and has nothing listening: connecting to it is refused.
package func closedLoopbackPort() throws -> UInt16 {
    let (socket, port) = try TestServer.listenOnLoopback()
    close(socket)
    return port
}

package func sendAll(_ socket: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { sendAll(socket, $0) }
}

/// MSG_NOSIGNAL: a client that hung up must end this connection, not the test process.
package func sendAll(_ socket: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var sent = 0
    while sent < bytes.count {
        let result = send(
            socket, bytes.baseAddress.map { $0 + sent }, bytes.count - sent, Int32(MSG_NOSIGNAL))
        if result < 0, errno == EINTR { continue }
        guard result > 0 else { return false }
        sent += result
    }
    return true
}

package func sleep(for duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0, errno == EINTR {
        request = remaining
    }
}
