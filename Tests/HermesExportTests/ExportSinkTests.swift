import Foundation
import HermesCore
import Testing

@testable import HermesExport

/// The contract between `Export` and its sinks, with sinks written for the test: every record
/// reaches every sink, flushes come for the documented reasons, and one rule picks the status.
@Suite struct ExportSinkTests {
    final class RecordingSink: ExportSink {
        let failureRank: ExportFailureRank
        var failure: ExportError?
        var failOnFlush: ExportError?
        var full = false
        var accepted: [Record] = []
        var reasons: [FlushReason] = []

        init(rank: ExportFailureRank = .push, failOnFlush: ExportError? = nil) {
            failureRank = rank
            self.failOnFlush = failOnFlush
        }

        var hasPending: Bool { !accepted.isEmpty }
        var isFull: Bool { full }

        func accept(_ record: Record, _ context: ExportContext) {
            accepted.append(record)
            full = accepted.count % 2 == 0
        }

        func flush(_ reason: FlushReason, _ context: ExportContext) {
            reasons.append(reason)
            full = false
            if let failOnFlush { failure = failOnFlush }
        }
    }

    func run(_ input: String, _ sinks: [any ExportSink]) throws -> Export.Summary {
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data(input.utf8))
        try pipe.fileHandleForWriting.close()
        return Export(sinks: sinks, diagnostics: Diagnostics(tool: "test")).run(
            reading: pipe.fileHandleForReading.fileDescriptor)
    }

    @Test func everySinkGetsEveryRecordAndAFinalFlush() throws {
        let first = RecordingSink()
        let second = RecordingSink()
        let input = String(repeating: Fixtures.resultLine + "\n", count: 3)
        let summary = try run(input, [first, second])
        #expect(summary.records == 3)
        #expect(summary.exitCode == .success)
        for sink in [first, second] {
            #expect(sink.accepted.count == 3)
            #expect(sink.reasons.suffix(2) == [.endOfInput, .settled])
            // The second record fills a batch of two.
            #expect(sink.reasons.contains(.batchFull))
        }
    }

    static let pushDown = ExportError.unreachable(message: "down")
    /// 73, unlike the 74 of standard output: the two ranks cannot be mistaken for each other.
    static let textfileGone = ExportError.textfile(IOError(operation: "open", path: "/x", code: EACCES))
    static let stdoutGone = ExportError.output(IOError(operation: "write", path: "standard output", code: EPIPE))

    @Test(arguments: [
        ([(pushDown, ExportFailureRank.push)], ExitCode.temporaryFailure),
        ([(pushDown, .push), (textfileGone, .textfile)], textfileGone.exitCode),
        ([(textfileGone, .textfile), (pushDown, .push), (stdoutGone, .localOutput)], stdoutGone.exitCode),
        ([(ExportError.refused(message: "401", status: 401), .push), (pushDown, .push)], ExitCode.configuration),
    ])
    func theMostSpecificFailureDecides(failures: [(ExportError, ExportFailureRank)], expected: ExitCode) throws {
        let sinks = failures.map { RecordingSink(rank: $0.1, failOnFlush: $0.0) }
        #expect(try run(Fixtures.resultLine + "\n", sinks).exitCode == expected)
    }

    @Test func theFailureRanksAreDistinctStatuses() {
        #expect(Self.textfileGone.exitCode == .cannotCreate)
        #expect(Self.stdoutGone.exitCode == .ioError)
        #expect(Self.pushDown.exitCode == .temporaryFailure)
    }

    @Test func rejectedLinesDecideOnlyWhenNoSinkFailed() throws {
        #expect(try run("oops\n" + Fixtures.resultLine + "\n", [RecordingSink()]).exitCode == .dataError)
        let failing = RecordingSink(failOnFlush: Self.pushDown)
        #expect(try run("oops\n" + Fixtures.resultLine + "\n", [failing]).exitCode == .temporaryFailure)
    }
}
