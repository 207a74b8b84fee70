import HermesHTTP
import HermesTestSupport
import Synchronization
import Testing

/// Every HermesHTTP test suite nests in this one. They run one at a time so that the timing
/// assertions (a timeout fires after about its limit, progress arrives every 100 ms) never
/// compete for the two cores with a 50 MB transfer running in parallel.
@Suite(.serialized) struct HermesHTTPTests {}

/// The error a request fails with, or nil when it succeeded.
func failure(of request: HTTPRequest) -> HTTPError? {
    do {
        _ = try HTTPClient.perform(request)
        return nil
    } catch {
        return error
    }
}

/// Runs `body` and returns its result with the time it took on the monotonic clock.
func timed<Result>(_ body: () throws -> Result) rethrows -> (Result, Duration) {
    let clock = ContinuousClock()
    let start = clock.now
    let result = try body()
    return (result, clock.now - start)
}

extension Result where Failure == HTTPError {
    var error: HTTPError? {
        guard case .failure(let error) = self else { return nil }
        return error
    }

    var value: Success? {
        guard case .success(let value) = self else { return nil }
        return value
    }
}

extension HTTPResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// State a `@Sendable` sink or source closure can update: the closures run on the transfer's
/// thread, the test reads the result afterwards.
final class StreamTally: Sendable {
    private struct Counts {
        var bytes: Int64 = 0
        var chunks = 0
        var largestChunk = 0
        var followsPattern = true
    }

    private let counts = Mutex(Counts())

    func record(_ chunk: UnsafeRawBufferPointer) {
        counts.withLock { counts in
            if counts.followsPattern, !TestPattern.matches(chunk, at: counts.bytes) {
                counts.followsPattern = false
            }
            counts.bytes += Int64(chunk.count)
            counts.chunks += 1
            counts.largestChunk = max(counts.largestChunk, chunk.count)
        }
    }

    var bytes: Int64 { counts.withLock { $0.bytes } }
    var chunks: Int { counts.withLock { $0.chunks } }
    var largestChunk: Int { counts.withLock { $0.largestChunk } }
    var followsPattern: Bool { counts.withLock { $0.followsPattern } }
}

/// A body source that writes `TestPattern` and serves at most `chunkLimit` bytes per call, so
/// the upload is made of many calls at many offsets.
func patternSource(chunkLimit: Int = 50_000, endingAt end: Int64? = nil)
    -> @Sendable (Int64, UnsafeMutableRawBufferPointer) -> BodySourceStep
{
    { offset, buffer in
        let remaining = end.map { $0 - offset } ?? Int64.max
        guard remaining > 0 else { return .end }
        let count = Int(min(Int64(min(buffer.count, chunkLimit)), remaining))
        TestPattern.fill(UnsafeMutableRawBufferPointer(rebasing: buffer[..<count]), from: offset)
        return .filled(count)
    }
}
