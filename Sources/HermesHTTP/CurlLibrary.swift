import CCurl

/// libcurl's process-wide state, initialised once before the first handle exists. A Swift
/// global is initialised exactly once even when several threads reach it at the same time,
/// which is the guarantee `curl_global_init` needs from its caller.
enum CurlLibrary {
    private static let initialization: CURLcode = hermes_curl_global_init()

    static func ensureInitialized() throws(HTTPError) {
        guard initialization == CURLE_OK else {
            throw HTTPError(
                kind: .internal,
                message: "libcurl could not be initialised (CURLcode \(initialization.rawValue))",
                curlCode: Int(initialization.rawValue)
            )
        }
    }
}
