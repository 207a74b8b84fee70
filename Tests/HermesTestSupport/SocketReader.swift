import Glibc

/// Buffered reads from a connected socket, for the test server's request parsing.
package struct SocketReader {
    package let socket: Int32
    private var buffered: [UInt8] = []
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    /// Requests with more header bytes than this are dropped, like any server would.
    package static let maximumHeadBytes = 64 * 1024

    package init(socket: Int32) {
        self.socket = socket
    }

    /// The request line and headers, without the blank line that ends them; nil when the
    /// client hung up. Non-HTTP input (no blank line, but bytes that cannot start a request)
    /// is returned as it is so the caller can reject it.
    package mutating func readHead() -> [UInt8]? {
        while true {
            if let end = firstIndex(of: [0x0D, 0x0A, 0x0D, 0x0A]) {
                let head = Array(buffered[..<end])
                buffered.removeFirst(end + 4)
                return head
            }
            if let first = buffered.first, !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) {
                return buffered
            }
            guard buffered.count < Self.maximumHeadBytes, fill() else { return nil }
        }
    }

    /// Reads the body the headers announce into `request`; false when the connection failed.
    package mutating func readBody(of request: inout RecordedRequest) -> Bool {
        if request.header("Transfer-Encoding")?.lowercased() == "chunked" {
            request.bodyWasChunked = true
            return readChunkedBody(into: &request)
        }
        let length = request.header("Content-Length").flatMap { Int64($0) } ?? 0
        return read(length, into: &request)
    }

    private mutating func readChunkedBody(into request: inout RecordedRequest) -> Bool {
        while true {
            guard let sizeLine = readLine() else { return false }
            let sizeText = sizeLine.prefix { $0 != ";" }
            guard let size = Int64(sizeText, radix: 16) else { return false }
            if size == 0 {
                // Trailer fields, if any, end with a blank line.
                while let trailer = readLine(), !trailer.isEmpty {}
                return true
            }
            guard read(size, into: &request), readLine() == "" else { return false }
        }
    }

    private mutating func read(_ count: Int64, into request: inout RecordedRequest) -> Bool {
        var remaining = count
        while remaining > 0 {
            if buffered.isEmpty, !fill() { return false }
            let take = Int(min(Int64(buffered.count), remaining))
            buffered.withUnsafeBytes { request.recordBody(UnsafeRawBufferPointer(rebasing: $0[..<take])) }
            buffered.removeFirst(take)
            remaining -= Int64(take)
        }
        return true
    }

    private mutating func readLine() -> String? {
        while true {
            if let end = firstIndex(of: [0x0D, 0x0A]) {
                let line = String(decoding: buffered[..<end], as: UTF8.self)
                buffered.removeFirst(end + 2)
                return line
            }
            guard buffered.count < Self.maximumHeadBytes, fill() else { return nil }
        }
    }

    /// Waits for the client to hang up (or the server to stop), discarding what arrives.
    package mutating func drainUntilClosed() {
        buffered.removeAll()
        while fill() {
            buffered.removeAll()
        }
    }

    private mutating func fill() -> Bool {
        while true {
            let received = scratch.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if received < 0, errno == EINTR { continue }
            guard received > 0 else { return false }
            buffered += scratch[..<received]
            return true
        }
    }

    private func firstIndex(of needle: [UInt8]) -> Int? {
        guard buffered.count >= needle.count else { return nil }
        return (0...(buffered.count - needle.count)).first { start in
            buffered[start..<start + needle.count].elementsEqual(needle)
        }
    }
}
