import Glibc
import HermesCore

/// The endpoints of Cloudflare's speed test (speed.cloudflare.com) and its trace page.
extension Exchange {
    /// `/__down?bytes=N`: N random bytes. A zero-byte download is the test's latency probe, so only
    /// it waits behind queued traffic.
    func down() -> Response {
        guard let bytes = request.integer(query: "bytes", default: 0), bytes >= 0 else {
            return .error(400, "bytes must be a whole number of 0 or more")
        }
        return Response(
            contentType: "application/octet-stream", body: .random(bytes), headers: timingHeaders(),
            queueWait: bytes == 0 ? queueWait : .zero)
    }

    /// `/__up`: the upload has been read and counted by then; the answer says how much came, and
    /// its server time (from the head to the body's last byte, to the microsecond) how long that
    /// took, as the service's does.
    func up() -> Response {
        Response(
            contentType: "text/plain", body: .bytes([]),
            headers: timingHeaders() + [("X-Hermes-Received-Bytes", "\(bodyBytes)")], queueWait: queueWait)
    }

    /// `Server-Timing` in the configured shape, with the time since the head was read, and the
    /// headers a browser client needs to read it.
    private func timingHeaders() -> [(String, String)] {
        let elapsed = ContinuousClock.now - received
        let microseconds = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        let legacy = "cfRequestDuration;dur=\(microseconds / 1000).\(String(microseconds % 1000 + 1000).dropFirst())000"
        let l4 =
            "cfL4;desc=\"?proto=TCP&rtt=\(tcp.microseconds)&rtt_var=\(tcp.variationMicroseconds)&retrans=\(tcp.retransmissions)&cwnd=\(tcp.congestionWindow)\""
        // The service's edge and worker times are whole milliseconds; their sum is ours.
        let edge = microseconds / 4000
        let worker = (microseconds + 500) / 1000 - edge
        let value: String? =
            switch configuration.serverTiming {
            case .requestDuration: legacy
            case .requestDurationL4: legacy + ", " + l4
            case .l4: l4
            case .edgeWorker: "cfSpeedEdge;dur=\(edge), cfSpeedWorker;dur=\(worker), " + l4
            case .none: nil
            }
        guard let value else { return [] }
        return [
            ("Server-Timing", value), ("Timing-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "Server-Timing"),
        ]
    }

    /// `/meta`: where the client is and which server it reached, in the service's current shape
    /// (the data centre as an object; coordinates as strings, as the service sends them).
    func meta() -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.field("hostname", host)
        json.field("clientIp", clientIP)
        json.field("httpProtocol", httpProtocol)
        json.field("asn", Int64(0))
        json.field("asOrganization", "hermes-target")
        json.field("country", configuration.country)
        json.field("city", configuration.city)
        json.field("region", configuration.city)
        json.field("postalCode", "")
        json.field("latitude", "0.00000")
        json.field("longitude", "0.00000")
        json.key("colo")
        json.beginObject()
        json.field("iata", configuration.colo)
        json.field("lat", 0.0)
        json.field("lon", 0.0)
        json.field("cca2", configuration.country)
        json.field("region", configuration.city)
        json.field("city", configuration.city)
        json.endObject()
        json.endObject()
        return .json(json)
    }

    /// `/cdn-cgi/trace`: Cloudflare's `key=value` lines, for tools that read the colo or the
    /// client's address from there.
    func trace() -> Response {
        .text(
            "fl=hermes\nh=\(host)\nip=\(clientIP)\nts=\(time(nil))\nvisit_scheme=\(scheme)\n"
                + "uag=\(request.header("user-agent") ?? "")\ncolo=\(configuration.colo)\nhttp=\(traceProtocol)\n"
                + "loc=\(configuration.country)\ntls=\(tlsVersion ?? "off")\nsni=off\nwarp=off\ngateway=off\n")
    }
}
