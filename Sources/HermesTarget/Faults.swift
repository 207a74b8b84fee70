import Glibc

// The faults hermes-target injects on purpose, so a client's handling of them can be tried:
// failing or rate-limited answers, bodies that stall or break off, and refused connections.
// `--delay` is one sleep with the queue wait, in `ResponseWriter.write`.

extension TargetConfiguration {
    /// What every request is answered instead of its route's while `--fail-status` or
    /// `--rate-limit` is set. Its body has been read, so a kept-alive connection stays usable.
    var injectedFailure: Response? {
        if let failStatus {
            return .error(failStatus, "injected failure (--fail-status)")
        }
        if let rateLimitRetryAfter {
            return .error(
                429, "rate limited (--rate-limit)", headers: [("Retry-After", "\(rateLimitRetryAfter)")])
        }
        return nil
    }
}

/// Where a response body stops: at its end, or earlier where `--stall-after` or `--close-after`
/// cuts it (the earlier of the two when both do).
struct BodyCutoff {
    private enum Fault { case stall, close }

    /// The body bytes to send.
    let limit: Int64
    private let fault: Fault?

    init(total: Int64, configuration: TargetConfiguration) {
        var limit = total
        var fault: Fault? = nil
        if let stallAt = configuration.stallAfter, stallAt < limit {
            limit = stallAt
            fault = .stall
        }
        if let closeAt = configuration.closeAfter, closeAt < limit {
            limit = closeAt
            fault = .close
        }
        self.limit = limit
        self.fault = fault
    }

    /// Called once `limit` bytes are sent; false when the connection must close. A stall holds the
    /// connection open first, so the client sees a transfer that stops, not one that ends.
    func finish(on socket: Socket) -> Bool {
        switch fault {
        case nil: return true
        case .close?: return false
        case .stall?:
            socket.stallUntilClientCloses()
            return false
        }
    }
}

extension Socket {
    /// Reads and drops whatever comes until the client closes. The receive timeout does not end
    /// it: only the client's own limit should.
    fileprivate func stallUntilClientCloses() {
        var scratch = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = scratch.withUnsafeMutableBytes { receive(into: $0.baseAddress!, count: $0.count) }
            if count > 0 { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { continue }
            return
        }
    }
}

extension TargetServer {
    /// Answers 503 and closes: past `maxConnections` (each connection is a thread and a buffer),
    /// or when no thread could be started for it. Written whole, before any `Connection` exists.
    func refuse(_ fd: Int32) {
        let answer = Array(
            ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 32\r\n"
                + "Connection: close\r\nRetry-After: 1\r\n\r\ntoo many connections; try again\n").utf8)
        _ = answer.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
        close(fd)
    }
}
