import HermesCore
import HermesHTTP

/// speed.cloudflare.com (anycast: the nearest data centre answers), or any server speaking its
/// protocol. The client's ISP and the data centre come from `/meta`, else `/cdn-cgi/trace`.
struct CloudflareEngine: MeasurementEngine {
    let settings: MeasureSettings

    func measure(deadline: Deadline, progress: LiveProgress) throws(MeasureFailure) -> SpeedResult {
        let endpoints = CloudflareEndpoints(base: settings.serverURL ?? "https://speed.cloudflare.com")
        let native = NativeMeasurement(endpoints: endpoints, settings: settings, deadline: deadline, progress: progress)
        let idle = try native.idleLatency()
        return try native.run(idle: idle, server: describe(endpoints, deadline: deadline))
    }

    /// What the service says about this client and itself; a test is not failed for lack of it.
    private func describe(_ endpoints: CloudflareEndpoints, deadline: Deadline) -> ServerDescription {
        let host = (try? ParsedURL(endpoints.serverURL, displayURL: endpoints.serverURL).host) ?? endpoints.serverURL
        var server = ServerDescription(name: host)
        if let meta = fetch(endpoints.serverURL + "/meta", deadline: deadline),
            case .object(let object)? = try? JSONParser.parse(meta)
        {
            server.isp = object.string("asOrganization")
            server.clientIP = object.string("clientIp")
            server.id = object.string("colo")
            server.location = location(city: object.string("city"), country: object.string("country"))
        } else if let trace = fetch(endpoints.serverURL + "/cdn-cgi/trace", deadline: deadline) {
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

    private func fetch(_ url: String, deadline: Deadline) -> String? {
        let limit = deadline.bounded(.seconds(5))
        guard limit > .zero else { return nil }
        let request = HTTPRequest(
            url: url, responseBody: .collect(limit: 64 * 1024), timeouts: HTTPTimeouts(connect: limit, total: limit))
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
