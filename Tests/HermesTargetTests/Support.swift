import HermesHTTP
import HermesTarget
import Testing

/// Starts a server on a free loopback port, configured by `configure`.
func startServer(_ configure: (inout TargetConfiguration) -> Void = { _ in }) throws -> TargetServer {
    try TargetServer.startOnLoopback(configure)
}

extension TargetServer {
    func get(_ path: String, limit: Int = 4 << 20) throws -> HTTPResponse {
        try HTTPClient.perform(HTTPRequest(url: baseURL + path, responseBody: .collect(limit: limit)))
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
