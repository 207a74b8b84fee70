/// The shortest way to send requests when no connection needs to be kept for later: each call
/// uses fresh handles. Keep an `EasyTransfer` or `MultiTransfer` to reuse connections.
public enum HTTPClient {
    /// Sends one request on the calling thread. See `EasyTransfer.perform(_:)`.
    public static func perform(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        try EasyTransfer().perform(request)
    }

    /// Sends all requests at once on the calling thread and returns their results in order.
    /// See `MultiTransfer.perform(_:progressInterval:onProgress:)`.
    public static func performAll(
        _ requests: [HTTPRequest],
        multiplex: Bool = false,
        progressInterval: Duration = .milliseconds(100),
        onProgress: (TransferProgress) -> ProgressDecision = { _ in .proceed }
    ) -> [Result<HTTPResponse, HTTPError>] {
        do throws(HTTPError) {
            return try MultiTransfer(multiplex: multiplex)
                .perform(requests, progressInterval: progressInterval, onProgress: onProgress)
        } catch {
            return requests.map { _ in .failure(error) }
        }
    }
}
