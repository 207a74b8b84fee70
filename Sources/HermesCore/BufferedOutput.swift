import Glibc

/// Buffered writes to a file descriptor: stdout for data, stderr for diagnostics.
public final class BufferedOutput {
    public let fileDescriptor: Int32
    public let name: String
    private var buffer: [UInt8] = []
    private let flushThreshold: Int

    public init(fileDescriptor: Int32, name: String, flushThreshold: Int = 64 * 1024) {
        self.fileDescriptor = fileDescriptor
        self.name = name
        self.flushThreshold = flushThreshold
    }

    public static func standardOutput() -> BufferedOutput { BufferedOutput(fileDescriptor: 1, name: "standard output") }

    public func write(_ bytes: [UInt8]) throws(IOError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushThreshold { try flush() }
    }

    public func write(_ text: String) throws(IOError) {
        try write(Array(text.utf8))
    }

    public func flush() throws(IOError) {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        try writeAll(buffer, to: fileDescriptor, name: name)
    }
}

/// Writes every byte, retrying short writes and EINTR.
public func writeAll(_ bytes: [UInt8], to fileDescriptor: Int32, name: String) throws(IOError) {
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBufferPointer { pointer -> Int in
            guard let base = pointer.baseAddress else { return 0 }
            return Glibc.write(fileDescriptor, base + offset, bytes.count - offset)
        }
        if written > 0 {
            offset += written
        } else if written < 0 && errno == EINTR {
            continue
        } else {
            throw IOError(operation: "write to", path: name, code: written < 0 ? errno : EIO)
        }
    }
}

/// Diagnostics go to stderr as `tool: message`, unbuffered so they interleave correctly.
public struct Diagnostics: Sendable {
    public let tool: String
    /// Where the messages go instead of standard error: a test's collector.
    private let receiver: (@Sendable (String) -> Void)?

    public init(tool: String) {
        self.tool = tool
        receiver = nil
    }

    public init(tool: String, receiver: @escaping @Sendable (String) -> Void) {
        self.tool = tool
        self.receiver = receiver
    }

    public func report(_ message: String) {
        if let receiver { return receiver(message) }
        let line = Array("\(tool): \(message)\n".utf8)
        try? writeAll(line, to: 2, name: "standard error")
    }
}
