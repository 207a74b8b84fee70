import CCurl

/// Performs requests one after another on the calling thread. Requests on the same
/// `EasyTransfer` reuse its kept-alive connections, so a second request to a host skips the TCP
/// and TLS handshakes: what an idle-latency probe on a warm connection needs.
///
/// Not `Sendable`: a libcurl handle must not be used by two threads at once. Create it where it
/// is used, or hand it over as a whole.
public final class EasyTransfer {
    private let handle: EasyHandle

    public init() throws(HTTPError) {
        handle = try EasyHandle()
    }

    /// Sends `request` and waits for the whole response. Any status is a response; only a
    /// failure to get one throws.
    public func perform(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        try handle.prepare(for: request)
        let code = curl_easy_perform(handle.raw)
        return try handle.outcome(of: code).get()
    }
}
