import HermesCore
import HermesHTTP

/// speed.cloudflare.com (anycast: the nearest data centre answers), or any server speaking its
/// protocol. The client's ISP and the data centre come from `/meta`, else `/cdn-cgi/trace`.
struct CloudflareEngine: MeasurementEngine {
    let settings: MeasureSettings

    func measure(deadline: Deadline, progress: LiveProgress) throws(MeasureFailure) -> SpeedResult {
        let endpoints = CloudflareEndpoints(
            base: settings.serverURL ?? "https://speed.cloudflare.com", route: settings.route)
        let native = NativeMeasurement(endpoints: endpoints, settings: settings, deadline: deadline, progress: progress)
        let idle = try native.idleLatency()
        return try native.run(idle: idle, server: describe(endpoints, deadline: deadline))
    }

    /// What the service says about this client and itself; a test is not failed for lack of it.
    private func describe(_ endpoints: CloudflareEndpoints, deadline: Deadline) -> ServerDescription {
        let host = (try? ParsedURL(endpoints.serverURL, displayURL: endpoints.serverURL).host) ?? endpoints.serverURL
        var server = ServerDescription(name: host)
        if let meta = fetch(endpoints.serverURL + "/meta", referer: endpoints.serverURL + "/", deadline: deadline),
            case .object(let object)? = try? JSONParser.parse(meta)
        {
            Self.read(meta: object, into: &server)
        } else if let trace = fetch(
            endpoints.serverURL + "/cdn-cgi/trace", referer: endpoints.serverURL + "/", deadline: deadline)
        {
            let fields = Dictionary(
                trace.split(separator: "\n").compactMap { line -> (String, String)? in
                    guard let equals = line.firstIndex(of: "=") else { return nil }
                    return (String(line[..<equals]), String(line[line.index(after: equals)...]))
                },
                uniquingKeysWith: { first, _ in first })
            server.clientIP = fields["ip"]
            server.id = fields["colo"]
            server.location = location(city: nil, country: fields["loc"])
        }
        if let colo = server.id { server.name = "\(host) (\(colo))" }
        return server
    }

    /// What `/meta` says, in either of the shapes the service has used.
    static func read(meta object: JSONObject, into server: inout ServerDescription) {
        (server.isp, server.clientIP) = (object.string("asOrganization"), object.string("clientIp"))
        if case .object(let colo)? = object["colo"] {
            // Since 2025: {"iata": "FRA", "city": "Frankfurt", "cca2": "DE", …}, the data
            // centre's own place; city and country beside it are the client's.
            server.id = colo.string("iata")
            server.location = location(city: colo.string("city"), country: colo.string("cca2"))
        } else {
            // Before: the IATA code as a string, and only the client's place to go by.
            server.id = object.string("colo")
            server.location = location(city: object.string("city"), country: object.string("country"))
        }
    }

    /// `/meta` answers 403 without the speed test's page as the Referer (since December 2025).
    private func fetch(_ url: String, referer: String, deadline: Deadline) -> String? {
        let limit = deadline.bounded(.seconds(5))
        guard limit > .zero else { return nil }
        var request = HTTPRequest(
            url: url, headers: ["Referer": referer], responseBody: .collect(limit: 64 * 1024),
            timeouts: HTTPTimeouts(connect: limit, total: limit))
        request.route = settings.route
        guard let response = try? HTTPClient.perform(request), response.isSuccess else { return nil }
        return String(decoding: response.body, as: UTF8.self)
    }
}

/// `"City, Country"` as the record wants it, or whichever part is known.
func location(city: String?, country: String?) -> String {
    [city, country].compactMap { $0?.isEmpty == false ? $0 : nil }.joined(separator: ", ")
}

extension JSONObject {
    /// The member as text: strings as they are, numbers written out; nil otherwise.
    func string(_ key: String) -> String? {
        switch self[key] {
        case .string(let text)?: text.isEmpty ? nil : text
        case .integer(let number)?: String(number)
        case .number(let number)?: String(number)
        default: nil
        }
    }
}
