import HermesCore
import HermesHTTP

/// What a native engine needs from a speed-test service: requests that move data each way, a
/// request whose round trip is the latency, and the server's own processing time in a response.
/// The measurement itself (streams, sampling, latency) is the same for every service.
protocol SpeedTestEndpoints: Sendable {
    /// The server as the record names it (`server_url`).
    var serverURL: String { get }
    /// A request for a large response body of at most `bytes` bytes.
    func download(upTo bytes: Int64) -> HTTPRequest
    /// A request that sends `bytes` bytes of `UploadPayload`.
    func upload(bytes: Int64) -> HTTPRequest
    /// A request with an empty answer, for round trips.
    func latencyProbe() -> HTTPRequest
    /// Time the server says it spent on a response before answering, to subtract from the round
    /// trip, and the header entries it came from; nil when the engine reads no such header.
    func serverTime(of response: HTTPResponse) -> ServerTime?
    /// How much one upload request carries.
    var uploadRequestBytes: Int64 { get }
    /// `--interface` and `-4`/`-6`: every request of the test takes this route.
    var route: NetworkRoute { get }
}

extension SpeedTestEndpoints {
    /// `request` on the test's route.
    func routed(_ request: HTTPRequest) -> HTTPRequest {
        var routed = request
        routed.route = route
        return routed
    }

    func serverTime(of response: HTTPResponse) -> ServerTime? { nil }
    var uploadRequestBytes: Int64 { 25_000_000 }
}

/// The server's own processing time in one response, and what it was read from (the record's
/// `server_timing`: `cfRequestDuration`, `cfSpeedEdge+cfSpeedWorker`, or `none`).
struct ServerTime: Sendable, Equatable {
    var duration: Duration
    var source: String

    /// The server said nothing usable: nothing is subtracted.
    static let absent = ServerTime(duration: .zero, source: "none")
}

/// Upload bodies: cut on the fly from one megabyte of pseudo-random bytes, so nothing can
/// compress them and no request allocates its size.
enum UploadPayload {
    static let bytes: [UInt8] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<(1 << 20)).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }()

    static func body(length: Int64) -> RequestBody {
        let payload = bytes
        return .stream(length: length) { offset, buffer in
            let remaining = length - offset
            guard remaining > 0 else { return .end }
            let start = Int(offset % Int64(payload.count))
            let count = min(buffer.count, payload.count - start, Int(clamping: remaining))
            payload.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + start, byteCount: count)
            }
            return .filled(count)
        }
    }
}

/// Joins a base URL and a path relative to it (`https://h/x/` + `garbage` → `https://h/x/garbage`);
/// an absolute URL is used as it is.
func resolve(_ path: String, against base: String) -> String {
    if path.hasPrefix("http://") || path.hasPrefix("https://") { return path }
    if path.hasPrefix("//") { return (base.hasPrefix("https:") ? "https:" : "http:") + path }
    let trimmedBase = base.hasSuffix("/") ? String(base.dropLast()) : base
    let trimmedPath = path.hasPrefix("/") ? String(path.dropFirst()) : path
    return trimmedBase + "/" + trimmedPath
}
