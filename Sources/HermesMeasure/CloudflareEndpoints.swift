import HermesCore
import HermesHTTP

/// speed.cloudflare.com and servers that speak its protocol (hermes-target): `__down?bytes=N`,
/// `__up`, and `Server-Timing: cfRequestDuration;dur=<ms>` to correct round trips.
struct CloudflareEndpoints: SpeedTestEndpoints {
    let serverURL: String

    /// Downloads of 10^8 bytes and more are refused (403) without a Referer or Origin.
    private var headers: HTTPHeaders {
        ["Referer": serverURL + "/", "Origin": serverURL, "Accept-Encoding": "identity"]
    }

    init(base: String) {
        serverURL = base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    func download(upTo bytes: Int64) -> HTTPRequest {
        HTTPRequest(
            url: "\(serverURL)/__down?bytes=\(min(bytes, 100_000_000))&during=download", headers: headers,
            responseBody: .discard)
    }

    func upload(bytes: Int64) -> HTTPRequest {
        var headers = self.headers
        headers.set(name: "Content-Type", value: "application/octet-stream")
        return HTTPRequest(
            url: "\(serverURL)/__up?during=upload", method: .post, headers: headers,
            body: UploadPayload.body(length: bytes), responseBody: .discard)
    }

    func latencyProbe() -> HTTPRequest {
        HTTPRequest(url: "\(serverURL)/__down?bytes=0", headers: headers, responseBody: .collect(limit: 4096))
    }

    func serverTime(of response: HTTPResponse) -> Duration {
        ServerTiming.duration(of: "cfRequestDuration", in: response.headers["Server-Timing"]) ?? .zero
    }
}

/// The `Server-Timing` header (`name;dur=12.3;desc="…", other;dur=4`).
enum ServerTiming {
    static func duration(of metric: String, in header: String?) -> Duration? {
        guard let header else { return nil }
        for entry in header.split(separator: ",") {
            let parameters = entry.split(separator: ";").map { $0.trimming() }
            guard parameters.first == metric else { continue }
            for parameter in parameters.dropFirst() where parameter.hasPrefix("dur=") {
                guard let milliseconds = Double(parameter.dropFirst(4)), milliseconds.isFinite, milliseconds >= 0
                else { return nil }
                return .microseconds(Int64((milliseconds * 1000).rounded()))
            }
        }
        return nil
    }
}
