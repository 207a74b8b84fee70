import HermesCore

/// The endpoints of a responsiveness server (draft-ietf-ippm-responsiveness, "Server
/// Configuration"), so that `hermes-measure --engine nq` and Apple's `networkQuality -C` can
/// test against a hermes-target: the configuration at `/.well-known/nq`, a small object, a large
/// one and an upload sink, all on this host.
extension Exchange {
    /// What the large download sends: "effectively infinite" in the draft's words (at least
    /// 8 GB); clients stop reading when they are done.
    static let largeObjectBytes = 10_000_000_000

    /// Version 1 with the draft's keys, and the `*_https_*` keys Apple's configurations used
    /// before them, which goresponsiveness still reads alone and Cloudflare's mach requires beside
    /// the others. The URLs are on the origin the client used: http, as this server speaks no TLS
    /// (which the draft allows), or https behind a TLS front (nginx/hermes-target.conf), which
    /// Apple's networkQuality requires.
    func responsivenessConfiguration() -> Response {
        let base = origin
        let urls = JSONObject([
            "small_download_url": .string("\(base)/small"),
            "large_download_url": .string("\(base)/large"),
            "upload_url": .string("\(base)/slurp"),
            "small_https_download_url": .string("\(base)/small"),
            "large_https_download_url": .string("\(base)/large"),
            "https_upload_url": .string("\(base)/slurp"),
        ])
        var json = JSONWriter()
        json.append(.object(JSONObject(["version": .integer(1), "urls": .object(urls)])))
        return .json(json)
    }

    /// `/small`: one byte; a probe, so it waits behind queued traffic.
    func small() -> Response {
        Response(contentType: "application/octet-stream", body: .bytes([0x68]), queueWait: queueWait)
    }

    /// `/large`: random bytes, more than any test reads.
    func large() -> Response {
        Response(contentType: "application/octet-stream", body: .random(Self.largeObjectBytes))
    }

    /// `/slurp`: the upload has been read and discarded by then.
    func slurp() -> Response {
        Response(
            contentType: "text/plain", body: .bytes([]), headers: [("X-Hermes-Received-Bytes", "\(bodyBytes)")])
    }
}
