import HermesCore
import HermesHTTP

/// speed.cloudflare.com and servers that speak its protocol (hermes-target): `__down?bytes=N`,
/// `__up`, and the server's time in `Server-Timing` to correct round trips (`ServerTiming`).
struct CloudflareEndpoints: SpeedTestEndpoints {
    let serverURL: String
    /// `--interface` and `-4`/`-6`, on every request.
    var route = NetworkRoute.any

    /// Downloads of 10^8 bytes and more are refused (403) without a Referer or Origin.
    private var headers: HTTPHeaders {
        ["Referer": serverURL + "/", "Origin": serverURL, "Accept-Encoding": "identity"]
    }

    init(base: String, route: NetworkRoute = .any) {
        serverURL = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.route = route
    }

    func download(upTo bytes: Int64) -> HTTPRequest {
        routed(
            HTTPRequest(
                url: "\(serverURL)/__down?bytes=\(min(bytes, 100_000_000))&during=download", headers: headers,
                responseBody: .discard))
    }

    func upload(bytes: Int64) -> HTTPRequest {
        var headers = self.headers
        headers.set(name: "Content-Type", value: "application/octet-stream")
        return routed(
            HTTPRequest(
                url: "\(serverURL)/__up?during=upload", method: .post, headers: headers,
                body: UploadPayload.body(length: bytes), responseBody: .discard))
    }

    func latencyProbe() -> HTTPRequest {
        routed(HTTPRequest(url: "\(serverURL)/__down?bytes=0", headers: headers, responseBody: .collect(limit: 4096)))
    }

    func serverTime(of response: HTTPResponse) -> ServerTime? {
        ServerTiming.serverTime(in: response.headers.values(for: "Server-Timing").joined(separator: ", "))
    }
}

/// The `Server-Timing` header (`name;dur=12.3;desc="…", other;dur=4`) of Cloudflare's speed
/// test, in every shape the service has sent: `cfRequestDuration;dur=15.999794` until 2024, then
/// with a `cfL4;desc="…"` entry (at first as a second header line), `cfRequestDuration;dur=0.000000`
/// and `cfL4` alone in March 2026, and now `cfSpeedEdge;dur=4, cfSpeedWorker;dur=28, cfL4;…`.
/// As Cloudflare's own engine reads it (cloudflare/speedtest, `cfGetServerTime`): the request
/// duration (or its short spellings) when above 0.01 ms, else the sum of every `cfSpeed*` entry,
/// else nothing; `cfL4` carries no server time.
enum ServerTiming {
    static let minimum = Duration.microseconds(10)

    static func serverTime(in header: String) -> ServerTime {
        var requestDuration: (name: String, duration: Duration)?
        var speed: [(name: String, duration: Duration)] = []
        for entry in header.split(separator: ",") {
            let parameters = entry.split(separator: ";").map { $0.trimming() }
            guard let name = parameters.first, let duration = duration(in: parameters.dropFirst()) else { continue }
            let lowered = name.lowercased()
            if ["cfrequestduration", "cfreqdur", "cfrequestdur", "cfreqduration"].contains(lowered) {
                if requestDuration == nil { requestDuration = (name, duration) }
            } else if lowered.hasPrefix("cfspeed") {
                speed.append((name, duration))
            }
        }
        if let requestDuration, requestDuration.duration > minimum {
            return ServerTime(duration: requestDuration.duration, source: requestDuration.name)
        }
        let sum = speed.reduce(Duration.zero) { $0 + $1.duration }
        if sum > minimum { return ServerTime(duration: sum, source: speed.map(\.name).joined(separator: "+")) }
        return .absent
    }

    /// The `dur=` parameter in milliseconds (decimals or a whole number); nil without one.
    private static func duration(in parameters: ArraySlice<String>) -> Duration? {
        for parameter in parameters where parameter.lowercased().hasPrefix("dur=") {
            guard let milliseconds = Double(parameter.dropFirst(4)), milliseconds.isFinite, milliseconds >= 0
            else { return nil }
            return .microseconds(Int64((milliseconds * 1000).rounded()))
        }
        return nil
    }
}
