import HermesCore
import HermesHTTP

/// A LibreSpeed server (self-hosted, no rate limits), or the one with the lowest latency from a
/// LibreSpeed server list. The ISP comes from the server's `getIP?isp=true`.
struct LibreSpeedEngine: MeasurementEngine {
    let settings: MeasureSettings

    func measure(deadline: Deadline, progress: LiveProgress) throws(MeasureFailure) -> SpeedResult {
        let server: LibreSpeedServer
        let route = settings.route
        if let chosen = settings.listEntry {
            server = chosen
        } else if let url = settings.server {
            progress.phase("finding the LibreSpeed backend at \(url)")
            server = try LibreSpeedServer(url: url).locate(deadline: deadline, route: route)
        } else if let list = settings.serverList {
            progress.phase("choosing a server from \(list)")
            server = try nearest(
                of: LibreSpeedServer.loadList(list, deadline: deadline, route: route), from: list, deadline: deadline)
        } else {
            throw MeasureFailure(.noServer, "the librespeed engine needs --server URL or --server-list URL|FILE")
        }
        let endpoints = LibreSpeedEndpoints(server: server, route: route)
        let native = NativeMeasurement(endpoints: endpoints, settings: settings, deadline: deadline, progress: progress)
        let idle = try native.idleLatency()
        var description = ServerDescription(name: server.name, id: server.id)
        identifyClient(server, into: &description, deadline: deadline)
        return try native.run(idle: idle, server: description)
    }

    /// Probes every server at once: one round trip opens each connection, the best of the next
    /// three is its latency. Servers that fail or answer with an error are left out.
    private func nearest(
        of servers: [LibreSpeedServer], from list: String, deadline: Deadline
    ) throws(MeasureFailure) -> LibreSpeedServer {
        if servers.count == 1 { return servers[0] }
        guard let multi = try? MultiTransfer() else {
            throw MeasureFailure(.internal, "cannot prepare the server selection")
        }
        var best = [Double?](repeating: nil, count: servers.count)
        var alive = Set(servers.indices)
        for round in 0..<4 {
            let limit = deadline.bounded(.seconds(3))
            guard limit > .zero else { break }
            let order = alive.sorted()
            let requests = order.map { index in
                var request = LibreSpeedEndpoints(server: servers[index], route: settings.route).latencyProbe()
                request.timeouts = HTTPTimeouts(connect: limit, total: limit)
                return request
            }
            for (position, result) in multi.perform(requests).enumerated() {
                let index = order[position]
                guard case .success(let response) = result, response.isSuccess else {
                    alive.remove(index)
                    continue
                }
                guard round > 0 else { continue }
                let metrics = response.metrics
                let milliseconds = seconds(metrics.firstByte - max(metrics.connected, metrics.tlsDone)) * 1000
                best[index] = min(best[index] ?? .infinity, milliseconds)
            }
        }
        let chosen = alive.compactMap { index in best[index].map { (index, $0) } }.min { $0.1 < $1.1 }
        guard let chosen else {
            throw MeasureFailure(
                .noServer,
                "none of the \(servers.count) servers in \(list) answered; check the list and this host's connection")
        }
        return servers[chosen.0]
    }

    /// `getIP?isp=true`; the test goes on without it.
    private func identifyClient(
        _ server: LibreSpeedServer, into description: inout ServerDescription, deadline: Deadline
    ) {
        let limit = deadline.bounded(.seconds(5))
        guard limit > .zero else { return }
        var request = HTTPRequest(
            url: resolve(server.getIPPath, against: server.base) + "?isp=true",
            responseBody: .collect(limit: 64 * 1024), timeouts: HTTPTimeouts(connect: limit, total: limit))
        request.route = settings.route
        guard let response = try? HTTPClient.perform(request), response.isSuccess else { return }
        (description.clientIP, description.isp) = Self.client(fromGetIP: String(decoding: response.body, as: UTF8.self))
    }

    /// The client's address and ISP from a `getIP` answer:
    /// `{processedString: "<ip> - <isp>, <country> (<distance>)", rawIspInfo: {ip, org, …} | ""}`.
    static func client(fromGetIP text: String) -> (ip: String?, isp: String?) {
        guard case .object(let object)? = try? JSONParser.parse(text) else { return (nil, nil) }
        var ip: String?
        var isp: String?
        if case .object(let raw)? = object["rawIspInfo"] {
            ip = raw.string("ip")
            isp = raw.string("org").map(withoutASNumber) ?? raw.string("as_name")
        }
        guard let processed = object.string("processedString") else { return (ip, isp) }
        let dash = processed.firstRange(of: " - ")
        if ip == nil {
            ip = dash.map { String(processed[..<$0.lowerBound]) } ?? processed
        }
        if isp == nil, let dash {
            let rest = processed[dash.upperBound...]
            let name = rest[..<(rest.firstIndex(of: ",") ?? rest.endIndex)].trimming()
            isp = name.isEmpty ? nil : name
        }
        return (ip, isp)
    }

    /// ipinfo's `org` is `"AS3320 Deutsche Telekom AG"`; the ISP is the name.
    private static func withoutASNumber(_ org: String) -> String {
        guard org.hasPrefix("AS"), let space = org.firstIndex(of: " "),
            org[org.index(org.startIndex, offsetBy: 2)..<space].allSatisfy(\.isNumber)
        else { return org }
        return String(org[org.index(after: space)...])
    }
}
