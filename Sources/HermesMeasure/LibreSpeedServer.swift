import Glibc
import HermesCore
import HermesHTTP

/// One LibreSpeed server: an entry of a server list, or a URL given with `--server`.
struct LibreSpeedServer: Sendable, Equatable {
    var id: String?
    var name: String
    /// The server as the record names it: the URL given, or the list entry's `server`.
    var url: String
    /// The base every endpoint path is relative to.
    var base: String
    var downloadPath = "garbage"
    var uploadPath = "empty"
    var pingPath = "empty"
    var getIPPath = "getIP"

    /// A server given by URL, with the Go/Rust backend paths (no `.php`) until `locate` has found
    /// which layout it has.
    init(url: String) {
        self.url = url
        base = url.hasSuffix("/") ? url : url + "/"
        name = (try? ParsedURL(url, displayURL: url).host) ?? url
    }

    /// Where a LibreSpeed install keeps its backend, relative to the URL a user gives: the PHP
    /// install (`backend/*.php` beside the web page, as the official image serves it), the PHP
    /// backend directory itself (`*.php`), the Rust backend (`backend/*`) and the Go backend and
    /// hermes-target (`*`; the Go backend answers every form). Tried in this order.
    static let layouts: [(prefix: String, suffix: String)] = [
        ("backend/", ".php"), ("", ".php"), ("backend/", ""), ("", ""),
    ]

    /// This server with the paths of the first layout whose `empty` answers 2xx with an empty
    /// body, as LibreSpeed's own CLI judges a server (a page served for any path does not
    /// pass). A connection that fails fails the run at once; a server with none of the layouts
    /// fails it naming each URL tried and its answer.
    func locate(deadline: Deadline, route: NetworkRoute = .any) throws(MeasureFailure) -> LibreSpeedServer {
        var tried: [String] = []
        for layout in Self.layouts {
            let limit = deadline.bounded(.seconds(5))
            guard limit > .zero else { throw deadline.expired(during: "finding the LibreSpeed backend at \(url)") }
            let probe = resolve(layout.prefix + "empty" + layout.suffix, against: base)
            var request = HTTPRequest(
                url: probe, responseBody: .collect(limit: 4096), timeouts: HTTPTimeouts(connect: limit, total: limit))
            request.route = route
            let response: HTTPResponse
            do {
                response = try HTTPClient.perform(request)
            } catch {
                throw MeasureFailure.request(error, during: "the latency test against \(url)")
            }
            let name = layout.prefix + "empty" + layout.suffix
            guard response.isSuccess else {
                tried.append("\(name) (HTTP \(response.status))")
                continue
            }
            guard response.body.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
                tried.append("\(name) (HTTP \(response.status) with a body of \(response.body.count) bytes, not empty)")
                continue
            }
            var located = self
            (located.downloadPath, located.uploadPath, located.pingPath, located.getIPPath) = (
                layout.prefix + "garbage" + layout.suffix, name, name, layout.prefix + "getIP" + layout.suffix
            )
            return located
        }
        throw MeasureFailure(
            .http,
            "no LibreSpeed backend at \(url): tried \(tried.joined(separator: ", ")); give the URL of the "
                + "LibreSpeed page or of its backend, or a --server-list")
    }

    init(
        id: String?, name: String, base: String, downloadPath: String, uploadPath: String, pingPath: String,
        getIPPath: String
    ) {
        self.id = id
        self.name = name
        url = base
        self.base = base.hasSuffix("/") ? base : base + "/"
        self.downloadPath = downloadPath
        self.uploadPath = uploadPath
        self.pingPath = pingPath
        self.getIPPath = getIPPath
    }

    /// A LibreSpeed server list: `[{id, name, server, dlURL, ulURL, pingURL, getIpURL, …}]`.
    static func parseList(_ text: String, source: String) throws(MeasureFailure) -> [LibreSpeedServer] {
        guard case .array(let entries)? = try? JSONParser.parse(text) else {
            throw MeasureFailure(.protocol, "the server list \(source) is not a JSON array of LibreSpeed servers")
        }
        var servers: [LibreSpeedServer] = []
        for (position, entry) in entries.enumerated() {
            guard case .object(let object) = entry, let server = object.string("server") else {
                throw MeasureFailure(
                    .protocol, "entry \(position + 1) of the server list \(source) has no \"server\" URL")
            }
            let base = server.hasPrefix("//") ? "https:" + server : server
            servers.append(
                LibreSpeedServer(
                    id: object.string("id"), name: object.string("name") ?? base,
                    base: base,
                    downloadPath: object.string("dlURL") ?? "garbage", uploadPath: object.string("ulURL") ?? "empty",
                    pingPath: object.string("pingURL") ?? "empty", getIPPath: object.string("getIpURL") ?? "getIP"))
        }
        guard !servers.isEmpty else {
            throw MeasureFailure(.noServer, "the server list \(source) is empty")
        }
        return servers
    }

    /// Reads a server list from an http(s) URL or a file.
    static func loadList(
        _ source: String, deadline: Deadline, route: NetworkRoute = .any
    ) throws(MeasureFailure) -> [LibreSpeedServer] {
        let text: String
        if source.hasPrefix("http://") || source.hasPrefix("https://") {
            let limit = deadline.bounded(.seconds(10))
            var request = HTTPRequest(
                url: source, responseBody: .collect(limit: 4 << 20),
                timeouts: HTTPTimeouts(connect: limit, total: limit), redirects: .follow(limit: 3))
            request.route = route
            let response: HTTPResponse
            do {
                response = try HTTPClient.perform(request)
            } catch {
                throw MeasureFailure.request(error, during: "fetching the server list")
            }
            guard response.isSuccess else { throw MeasureFailure.status(response, during: "fetching the server list") }
            text = String(decoding: response.body, as: UTF8.self)
        } else {
            let descriptor = open(source, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw MeasureFailure(
                    .noServer, "cannot read the server list \(source): \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            do {
                text = String(decoding: try FileSystem.readAll(descriptor, path: source), as: UTF8.self)
            } catch {
                throw MeasureFailure(.noServer, "cannot read the server list: \(error)")
            }
        }
        return try parseList(text, source: source)
    }
}

/// The LibreSpeed protocol: `garbage?ckSize=N` (N MiB of random bytes), POST `empty`, and
/// `empty` again for round trips.
struct LibreSpeedEndpoints: SpeedTestEndpoints {
    let server: LibreSpeedServer
    var route = NetworkRoute.any

    var serverURL: String { server.url }
    /// LibreSpeed's own web client uploads 20 MB blobs; servers are sized for that.
    var uploadRequestBytes: Int64 { 20_000_000 }

    func download(upTo bytes: Int64) -> HTTPRequest {
        let mebibytes = max(1, (min(bytes, 100 << 20) + (1 << 20) - 1) >> 20)
        return routed(
            HTTPRequest(
                url: resolve(server.downloadPath, against: server.base) + "?ckSize=\(mebibytes)",
                headers: ["Accept-Encoding": "identity"], responseBody: .discard))
    }

    func upload(bytes: Int64) -> HTTPRequest {
        routed(
            HTTPRequest(
                url: resolve(server.uploadPath, against: server.base), method: .post,
                headers: ["Content-Type": "application/octet-stream"], body: UploadPayload.body(length: bytes),
                responseBody: .discard))
    }

    func latencyProbe() -> HTTPRequest {
        routed(HTTPRequest(url: resolve(server.pingPath, against: server.base), responseBody: .collect(limit: 4096)))
    }
}
