import HermesCore

/// The endpoints of a LibreSpeed backend, which its clients reach as `/garbage.php` and so on
/// (see `Route`).
extension Exchange {
    /// `/garbage?ckSize=N`: N mebibytes of random bytes (4 by default, at most 1024).
    func garbage() -> Response {
        guard let chunks = request.integer(query: "ckSize", default: 4), chunks >= 0 else {
            return .error(400, "ckSize must be a whole number of 0 or more")
        }
        return Response(
            contentType: "application/octet-stream", body: .random(min(chunks, 1024) * 1_048_576),
            headers: [
                ("Content-Description", "File Transfer"),
                ("Content-Disposition", "attachment; filename=random.dat"),
            ])
    }

    /// `/empty`: both the upload target and the latency probe, answered as `/__up` is.
    func empty() -> Response {
        up()
    }

    /// `/getIP`: the client's address; with `isp=true` also the ipinfo.io-style record LibreSpeed
    /// shows, or else an empty string in its place.
    func getIP() -> Response {
        let withISP = request.query["isp"] == "true"
        var json = JSONWriter()
        json.beginObject()
        json.field("processedString", withISP ? "\(clientIP) - hermes-target, \(configuration.country)" : clientIP)
        if withISP {
            json.key("rawIspInfo")
            json.beginObject()
            json.field("ip", clientIP)
            json.field("hostname", "")
            json.field("city", configuration.city)
            json.field("region", "")
            json.field("country", configuration.country)
            json.field("loc", "")
            json.field("org", "hermes-target")
            json.field("postal", "")
            json.field("timezone", "")
            json.endObject()
        } else {
            json.field("rawIspInfo", "")
        }
        json.endObject()
        return .json(json)
    }

    /// `/servers.json`: a server list of this one server, for clients that pick from a list.
    func servers() -> Response {
        let entry = JSONObject([
            "id": .integer(1),
            "name": .string("hermes-target (\(configuration.city), \(configuration.colo))"),
            "server": .string("\(origin)/"),
            "dlURL": .string("garbage"),
            "ulURL": .string("empty"),
            "pingURL": .string("empty"),
            "getIpURL": .string("getIP"),
            "sponsorName": .string("hermes-target"),
            "sponsorURL": .string(""),
        ])
        var json = JSONWriter()
        json.append(.array([.object(entry)]))
        return .json(json)
    }
}
