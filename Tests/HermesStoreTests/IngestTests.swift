import Glibc
import HermesCore
import HermesTestSupport
import Testing

@testable import HermesStore

/// Runs an Ingest over `input` delivered through a pipe; returns the summary and what was teed.
/// Producer and collector are plain threads: blocking the test on Swift tasks could starve the
/// cooperative pool on a 2-core machine.
func ingest(_ input: String, into destinations: [Ingest.Destination], tee: Bool = false) throws -> (
    Ingest.Summary, String
) {
    var inputPipe: [Int32] = [0, 0]
    var outputPipe: [Int32] = [0, 0]
    try #require(pipe(&inputPipe) == 0 && pipe(&outputPipe) == 0)
    let bytes = Array(input.utf8)
    let writer = inputPipe[1]
    let feeder = try #require(
        BackgroundThread {
            try? writeAll(bytes, to: writer, name: "pipe")
            close(writer)
        })
    let collected = ResultBox<[UInt8]>()
    let reader = outputPipe[0]
    let collector = try #require(
        BackgroundThread {
            var all: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                all += chunk[0..<count]
            }
            collected.value = all
        })
    let teeStream = tee ? BufferedOutput(fileDescriptor: outputPipe[1], name: "tee") : nil
    var run = Ingest(destinations: destinations, tee: teeStream, diagnostics: Diagnostics(tool: "hermes-store-test"))
    run.batchSize = 3
    let summary = run.run(reading: inputPipe[0])
    close(inputPipe[0])
    close(outputPipe[1])
    feeder.join()
    collector.join()
    close(outputPipe[0])
    return (summary, String(decoding: collected.value ?? [], as: UTF8.self))
}

final class ResultBox<T>: @unchecked Sendable { var value: T? }

@Suite struct IngestTests {
    static func good(_ hour: Int) -> String {
        #"{"v":1,"type":"result","timestamp":"2026-05-01T\#(String(format: "%02d", hour)):00:00Z","download_mbps":\#(hour),"upload_mbps":1,"ping_ms":1}"#
    }

    @Test func badLinesAreSkippedWithoutRollingBackGoodOnes() throws {
        let directory = try TemporaryDirectory()
        let sqlitePath = directory.file("h.db")
        let csvPath = directory.file("r.csv")
        let destinations = [
            Ingest.Destination(store: try SQLiteStore(path: sqlitePath), retention: RetentionPolicy()),
            Ingest.Destination(store: try CSVStore(path: csvPath), retention: RetentionPolicy()),
        ]
        let input = (0..<8).map { Self.good($0) }
        let lines = [
            input[0], input[1], "garbage", input[2], input[3], input[4], #"{"v":1}"#, input[5], input[6], input[7],
        ]
        let (summary, teed) = try ingest(lines.joined(separator: "\n") + "\n", into: destinations, tee: true)
        #expect(summary.stored == 8)
        #expect(summary.rejected == 2)
        #expect(summary.exitCode == .dataError)
        #expect(try sqlite(sqlitePath, "SELECT count(*) FROM results") == [["8"]])
        #expect(try CSVStore(path: csvPath).query(RecordQuery()).count == 8)
        let teedLines = teed.split(separator: "\n")
        #expect(teedLines.count == 8)
        #expect(
            teedLines.first
                == #"{"v":1,"type":"result","timestamp":"2026-05-01T00:00:00.000Z","download_mbps":0.0,"upload_mbps":1.0,"ping_ms":1.0,"jitter_ms":null,"isp_name":null,"server_name":"","server_location":"","server_id":null}"#
        )
    }

    @Test func retentionRunsAfterTheInsert() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("h.db"))
        let (summary, _) = try ingest(
            (0..<10).map { Self.good($0) }.joined(separator: "\n"),
            into: [Ingest.Destination(store: store, retention: RetentionPolicy(maximumRows: 4))])
        #expect(summary.exitCode == .success)
        #expect(summary.removedByRetention == 6)
        #expect(
            try sqlite(
                directory.file("h.db"),
                "SELECT group_concat(download_mbps) FROM (SELECT download_mbps FROM results ORDER BY timestamp)") == [
                    ["6.0,7.0,8.0,9.0"]
                ])
    }

    @Test func emptyInputIsFine() throws {
        let directory = try TemporaryDirectory()
        let (summary, teed) = try ingest(
            "", into: [Ingest.Destination(store: try SQLiteStore(path: directory.file("h.db")), retention: .init())],
            tee: true)
        #expect(summary == Ingest.Summary())
        #expect(teed.isEmpty)
    }
}
