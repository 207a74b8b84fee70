import Glibc

/// An accepted TCP connection's descriptor, read and written with the retry every call needs
/// after a signal. Closing it is `Connection`'s business.
struct Socket: Sendable {
    let fd: Int32

    /// One recv(2): the bytes read, 0 at end of stream, or -1 with `errno` set (a receive timeout
    /// among the reasons, which callers treat differently).
    func receive(into pointer: UnsafeMutableRawPointer, count: Int) -> Int {
        while true {
            let received = recv(fd, pointer, count, 0)
            if received < 0 && errno == EINTR { continue }
            return received
        }
    }

    /// One send(2); the bytes written, or 0 on error. MSG_NOSIGNAL: a client that went away must
    /// end this connection, not the process.
    func write(from pointer: UnsafeRawPointer, count: Int) -> Int {
        while true {
            let written = send(fd, pointer, count, Int32(MSG_NOSIGNAL))
            if written >= 0 { return written }
            if errno == EINTR { continue }
            return 0
        }
    }

    /// False when the connection failed before every byte was written.
    func writeAll(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(from: $0.baseAddress! + offset, count: $0.count - offset) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}
