import CCurl

/// The parts of a request URL that this module needs, parsed by libcurl's own URL parser so
/// that what is checked here is exactly what libcurl will connect to.
public struct ParsedURL: Sendable {
    public let scheme: String
    /// As libcurl reports it: an IPv6 literal keeps its brackets.
    public let host: String
    public let port: Int
    /// The path, `/` at least.
    public let path: String
    /// scheme://host[:port]/path: no user info, query or fragment.
    public let redacted: String

    public var isHTTPS: Bool { scheme == "https" }

    /// Parses an absolute http or https URL; anything else is `HTTPError.Kind.invalidRequest`.
    public init(_ url: String, displayURL: String) throws(HTTPError) {
        guard let handle = curl_url() else {
            throw HTTPError(kind: .internal, displayURL: displayURL, detail: "out of memory")
        }
        defer { curl_url_cleanup(handle) }
        let status = curl_url_set(handle, CURLUPART_URL, url, 0)
        guard status == CURLUE_OK else {
            let reason = curl_url_strerror(status).map { String(cString: $0) } ?? "malformed URL"
            throw HTTPError(kind: .invalidRequest, displayURL: displayURL, detail: reason)
        }
        let scheme = (Self.part(CURLUPART_SCHEME, of: handle) ?? "").lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw HTTPError(
                kind: .invalidRequest,
                displayURL: displayURL,
                detail: "only http and https URLs are supported"
            )
        }
        guard let host = Self.part(CURLUPART_HOST, of: handle), !host.isEmpty,
            let port = Self.part(CURLUPART_PORT, of: handle, flags: UInt32(CURLU_DEFAULT_PORT))
                .flatMap({ Int($0) })
        else {
            throw HTTPError(kind: .invalidRequest, displayURL: displayURL, detail: "URL has no host")
        }
        self.scheme = scheme
        self.host = host
        self.port = port
        path = Self.part(CURLUPART_PATH, of: handle) ?? "/"
        self.redacted = Self.redactedForm(of: handle) ?? Self.roughlyRedacted(url)
    }

    /// The URL as it may appear in messages and logs.
    public static func redact(_ url: String) -> String {
        guard let handle = curl_url() else { return roughlyRedacted(url) }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, 0) == CURLUE_OK else {
            return roughlyRedacted(url)
        }
        return redactedForm(of: handle) ?? roughlyRedacted(url)
    }

    private static func redactedForm(of handle: OpaquePointer) -> String? {
        guard let scheme = part(CURLUPART_SCHEME, of: handle),
            let host = part(CURLUPART_HOST, of: handle)
        else { return nil }
        let port = part(CURLUPART_PORT, of: handle).map { ":\($0)" } ?? ""
        let path = part(CURLUPART_PATH, of: handle) ?? "/"
        return "\(scheme)://\(host)\(port)\(path)"
    }

    /// For text libcurl cannot parse: keep what precedes the first `?` or `#` and drop anything
    /// up to an `@` in the authority, so a malformed URL still never shows its credentials.
    private static func roughlyRedacted(_ url: String) -> String {
        let withoutQuery = url.prefix { $0 != "?" && $0 != "#" }
        guard let schemeEnd = withoutQuery.firstRange(of: "://") else {
            return withoutQuery.contains("@") ? "(unparsable URL)" : String(withoutQuery)
        }
        let afterScheme = withoutQuery[schemeEnd.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" }
        let rest = afterScheme.dropFirst(authority.count)
        let host = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        return "\(withoutQuery[..<schemeEnd.upperBound])\(host)\(rest)"
    }

    private static func part(_ part: CURLUPart, of handle: OpaquePointer, flags: UInt32 = 0)
        -> String?
    {
        var value: UnsafeMutablePointer<CChar>?
        guard curl_url_get(handle, part, &value, flags) == CURLUE_OK, let value else { return nil }
        defer { curl_free(value) }
        return String(cString: value)
    }
}
