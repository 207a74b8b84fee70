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
        // The client subtracts the server's time from its round trip, in milliseconds to 3 places.
        let elapsed = ContinuousClock.now - received
        let microseconds = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        let serverTime = "\(microseconds / 1000).\(String(microseconds % 1000 + 1000).dropFirst())"
        return Response(
            contentType: "application/octet-stream", body: .random(bytes),
            headers: [("Server-Timing", "cfRequestDuration;dur=\(serverTime)")],
            queueWait: bytes == 0 ? queueWait : .zero)
    }

    /// `/__up`: the upload has been read and counted by then; the answer says how much came.
    func up() -> Response {
        Response(
            contentType: "text/plain", body: .bytes([]), headers: [("X-Hermes-Received-Bytes", "\(bodyBytes)")],
            queueWait: queueWait)
    }

    /// `/meta`: where the client is and which server it reached, in Cloudflare's field order.
    func meta() -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.field("clientIp", clientIP)
        json.field("asn", Int64(0))
        json.field("asOrganization", "hermes-target")
        json.field("colo", configuration.colo)
        json.field("city", configuration.city)
        json.field("country", configuration.country)
        json.field("hostname", host)
        json.endObject()
        return .json(json)
    }

    /// `/cdn-cgi/trace`: Cloudflare's `key=value` lines, for tools that read the colo or the
    /// client's address from there.
    func trace() -> Response {
        .text(
            "fl=hermes\nh=\(host)\nip=\(clientIP)\nts=\(time(nil))\nvisit_scheme=http\n"
                + "uag=\(request.header("user-agent") ?? "")\ncolo=\(configuration.colo)\nhttp=http/1.1\n"
                + "loc=\(configuration.country)\ntls=off\nsni=off\nwarp=off\ngateway=off\n")
    }
}
