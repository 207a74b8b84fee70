import HermesCore
import HermesHTTP

/// A responsiveness server's configuration (draft-ietf-ippm-responsiveness, "Server
/// Configuration"): version 1, and the small, large and upload URLs on one host.
struct NQConfiguration: Sendable, Equatable {
    var small: String
    var large: String
    var upload: String

    /// The keys of each URL: the draft's, then those of Apple's older configurations
    /// (`small_https_download_url`, …), which some servers still publish alone.
    static let keys: [(draft: String, apple: String)] = [
        ("small_download_url", "small_https_download_url"), ("large_download_url", "large_https_download_url"),
        ("upload_url", "https_upload_url"),
    ]

    /// Parses the configuration `url` answered with; a failure names what is wrong with it.
    static func parse(_ text: String, from url: String) throws(MeasureFailure) -> NQConfiguration {
        func refuse(_ problem: String) -> MeasureFailure {
            MeasureFailure(.protocol, "the responsiveness configuration at \(url) \(problem)")
        }
        guard case .object(let object)? = try? JSONParser.parse(text) else {
            throw refuse("is not a JSON object (a duplicate key makes it invalid too)")
        }
        guard case .integer(1)? = object["version"] else {
            throw refuse("is not version 1 (\"version\": \(object["version"].map { "\($0)" } ?? "missing"))")
        }
        guard case .object(let urls)? = object["urls"] else { throw refuse("has no \"urls\" object") }
        var found: [String] = []
        for (draft, apple) in keys {
            guard let value = urls.string(draft) ?? urls.string(apple) else {
                throw refuse("has neither \"\(draft)\" nor \"\(apple)\" in \"urls\"")
            }
            guard value.hasPrefix("http://") || value.hasPrefix("https://") else {
                throw refuse("names \(value) for \(draft), not an http(s) URL")
            }
            found.append(value)
        }
        // The draft: all three MUST share the host, so the probes and the load take one path.
        let hosts = Set(found.map { (try? ParsedURL($0, displayURL: $0).host) ?? $0 })
        guard hosts.count == 1 else {
            throw refuse("names URLs on several hosts (\(hosts.sorted().joined(separator: ", "))); they must share one")
        }
        return NQConfiguration(small: found[0], large: found[1], upload: found[2])
    }
}

/// The URLs of a responsiveness server: the large object for downloads (read until the phase
/// stops it), the upload URL for uploads, the small object for round trips.
struct NQEndpoints: SpeedTestEndpoints {
    let serverURL: String
    let configuration: NQConfiguration
    var route = NetworkRoute.any

    /// The draft: clients must send `Accept-Encoding: identity`.
    private let headers: HTTPHeaders = ["Accept-Encoding": "identity"]

    func download(upTo bytes: Int64) -> HTTPRequest {
        routed(HTTPRequest(url: configuration.large, headers: headers, responseBody: .discard))
    }

    func upload(bytes: Int64) -> HTTPRequest {
        var headers = self.headers
        headers.set(name: "Content-Type", value: "application/octet-stream")
        return routed(
            HTTPRequest(
                url: configuration.upload, method: .post, headers: headers, body: UploadPayload.body(length: bytes),
                responseBody: .discard))
    }

    func latencyProbe() -> HTTPRequest {
        routed(HTTPRequest(url: configuration.small, headers: headers, responseBody: .collect(limit: 4096)))
    }
}

/// Any server that publishes a responsiveness configuration: hermes-target, Apple's, or one of
/// network-quality/server's. `--server` is the server (its `/.well-known/nq` is read) or the
/// configuration's own URL.
struct NQEngine: MeasurementEngine {
    let settings: MeasureSettings

    func measure(deadline: Deadline, progress: LiveProgress) throws(MeasureFailure) -> SpeedResult {
        let server = settings.serverURL ?? ""
        let configurationURL = Self.configurationURL(for: server)
        let limit = deadline.bounded(.seconds(10))
        guard limit > .zero else { throw deadline.expired(during: "fetching \(configurationURL)") }
        var request = HTTPRequest(
            url: configurationURL, headers: ["Accept-Encoding": "identity"], responseBody: .collect(limit: 64 * 1024),
            timeouts: HTTPTimeouts(connect: limit, total: limit))
        request.route = settings.route
        let response: HTTPResponse
        do {
            response = try HTTPClient.perform(request)
        } catch {
            throw MeasureFailure.request(error, during: "fetching the responsiveness configuration")
        }
        guard response.isSuccess else {
            throw MeasureFailure.status(response, during: "fetching the responsiveness configuration")
        }
        let configuration = try NQConfiguration.parse(
            String(decoding: response.body, as: UTF8.self), from: configurationURL)
        let endpoints = NQEndpoints(serverURL: server, configuration: configuration, route: settings.route)
        let native = NativeMeasurement(endpoints: endpoints, settings: settings, deadline: deadline, progress: progress)
        let idle = try native.idleLatency()
        let host =
            (try? ParsedURL(configuration.large, displayURL: configuration.large).host) ?? configuration.large
        return try native.run(idle: idle, server: ServerDescription(name: host))
    }

    /// A server's base URL gets `/.well-known/nq`; a URL with a path of its own is taken as the
    /// configuration itself (Apple's is at `/api/v1/gm/config`).
    static func configurationURL(for server: String) -> String {
        guard let url = try? ParsedURL(server, displayURL: server), url.path == "/" else {
            return server
        }
        return (server.hasSuffix("/") ? String(server.dropLast()) : server) + "/.well-known/nq"
    }
}
