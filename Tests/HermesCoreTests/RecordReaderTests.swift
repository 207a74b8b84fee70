import Glibc
import Testing

@testable import HermesCore

/// Feeds `bytes` to a RecordReader through a real pipe, from another thread, as a producer would.
func readThroughPipe(_ bytes: [UInt8]) throws -> [RecordReader.Item] {
    var descriptors: [Int32] = [0, 0]
    try #require(pipe(&descriptors) == 0)
    let writer = descriptors[1]
    let producer = try #require(
        BackgroundThread {
            try? writeAll(bytes, to: writer, name: "pipe")
            close(writer)
        })
    var reader = RecordReader(fileDescriptor: descriptors[0])
    var items: [RecordReader.Item] = []
    while let item = try reader.next() { items.append(item) }
    close(descriptors[0])
    producer.join()
    return items
}

@Suite struct RecordReaderTests {
    static let good = #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1}"#

    func summary(_ items: [RecordReader.Item]) -> [String] {
        items.map {
            switch $0 {
            case .record(_, let line): "record@\(line)"
            case .rejected(let line, let reason): "rejected@\(line): \(reason)"
            }
        }
    }

    @Test func overlongLineIsRejectedAndReadingContinues() throws {
        let huge = "{\"pad\":\"" + String(repeating: "x", count: 3 << 20) + "\"}"
        let input = [Self.good, huge, Self.good].joined(separator: "\n") + "\n"
        let items = try readThroughPipe(Array(input.utf8))
        #expect(summary(items) == ["record@1", "rejected@2: line is longer than 1048576 bytes", "record@3"])
    }

    @Test func lineOfExactlyTheLimitIsRead() throws {
        let prefix = #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"pad":""#
        let padding = RecordReader.maximumLineLength - prefix.utf8.count - 2
        let line = prefix + String(repeating: "y", count: padding) + "\"}"
        #expect(line.utf8.count == RecordReader.maximumLineLength)
        let items = try readThroughPipe(Array((line + "\n" + line + "x\n").utf8))
        #expect(summary(items).first == "record@1")
        #expect(summary(items).last == "rejected@2: line is longer than 1048576 bytes")
    }

    @Test func invalidUTF8IsRejectedWithItsLine() throws {
        let bad: [UInt8] =
            Array(#"{"v":1,"type":"failure","timestamp":"2026-05-01T12:00:00Z","error":""#.utf8) + [0xFF, 0xFE]
            + Array(#"","error_kind":"dns"}"#.utf8)
        let items = try readThroughPipe(Array((Self.good + "\n").utf8) + bad + [0x0A] + Array(Self.good.utf8))
        let lines = summary(items)
        try #require(lines.count == 3)
        #expect(lines[1].hasPrefix("rejected@2: invalid JSON: invalid UTF-8"))
        #expect(lines[2] == "record@3")
    }

    @Test func crlfBlankLinesAndAMissingFinalNewlineAreFine() throws {
        let input = "\r\n" + Self.good + "\r\n   \n\u{FEFF}" + Self.good
        #expect(summary(try readThroughPipe(Array(input.utf8))) == ["record@2", "record@4"])
    }

    @Test func manyRecordsAcrossBufferBoundaries() throws {
        let input = String(repeating: Self.good + "\n", count: 20_000)
        let items = try readThroughPipe(Array(input.utf8))
        #expect(items.count == 20_000)
        if case .record(_, let line) = items.last { #expect(line == 20_000) }
    }
}
