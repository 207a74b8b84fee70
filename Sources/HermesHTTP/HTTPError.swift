import CCurl

/// Why a request produced no usable response. `message` is one sentence naming what failed and
/// where (the request's `displayURL`, never credentials or query strings), followed by libcurl's
/// own explanation when there is one.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The host name could not be resolved (including a resolver that timed out).
        case dns
        /// No connection could be made, or it broke while in use.
        case connect
        /// The TLS handshake or certificate verification failed.
        case tls
        /// A connect, total or stall limit of `HTTPTimeouts` was reached.
        case timeout
        /// The server answered with a non-2xx status and the caller asked for that to be an
        /// error (`requireSuccess()`); a transfer alone never produces this.
        case http(status: Int)
        /// The server's answer was not acceptable HTTP: malformed, empty, too many redirects, a
        /// body larger than the caller's limit, and the like.
        case `protocol`
        /// The caller stopped the transfer: cancellation, a sink or body source said stop.
        case aborted
        /// The request itself cannot be sent: a malformed URL, a scheme other than http(s), a
        /// header with a line break, a body source that broke its contract.
        case invalidRequest
        /// libcurl failed in a way that points at this program or the machine (out of memory).
        case `internal`
    }

    public let kind: Kind
    public let message: String
    /// libcurl's `CURLcode`, when libcurl reported the failure.
    public let curlCode: Int?

    public init(kind: Kind, message: String, curlCode: Int? = nil) {
        self.kind = kind
        self.message = message
        self.curlCode = curlCode
    }

    public var description: String { message }

    init(kind: Kind, displayURL: String, detail: String, curlCode: CURLcode? = nil) {
        let summary =
            switch kind {
            case .dns: "could not resolve the host of \(displayURL)"
            case .connect: "could not connect to \(displayURL)"
            case .tls: "TLS with \(displayURL) failed"
            case .timeout: "request to \(displayURL) timed out"
            case .http(let status): "\(displayURL) answered HTTP \(status)"
            case .protocol: "invalid response from \(displayURL)"
            case .aborted: "request to \(displayURL) was stopped"
            case .invalidRequest: "cannot send request to \(displayURL)"
            case .internal: "request to \(displayURL) failed inside libcurl"
            }
        self.init(
            kind: kind,
            message: detail.isEmpty ? summary : "\(summary): \(detail)",
            curlCode: curlCode.map { Int($0.rawValue) }
        )
    }

    static func httpStatus(of response: HTTPResponse) -> HTTPError {
        HTTPError(
            kind: .http(status: response.status),
            displayURL: response.displayURL,
            detail: response.reason
        )
    }
}

extension HTTPError {
    /// The server closed the connection without sending a byte of an answer (libcurl's "empty
    /// reply from server"): a `protocol` error, but one that a restarting server or a closed
    /// idle connection also produces, so a caller may want to try again.
    public var isEmptyReply: Bool { curlCode == Int(CURLE_GOT_NOTHING.rawValue) }
}

extension HTTPError.Kind {
    /// Classifies a libcurl result. Only codes that http(s) transfers can produce are listed;
    /// anything else means libcurl did something this module does not expect.
    init(curlCode code: CURLcode) {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            self = .dns
        case CURLE_COULDNT_CONNECT, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_INTERFACE_FAILED,
            CURLE_NO_CONNECTION_AVAILABLE, CURLE_PROXY:
            self = .connect
        case CURLE_OPERATION_TIMEDOUT:
            self = .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED,
            CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            self = .tls
        // UNSUPPORTED_PROTOCOL reaches here only from a response: the request's own scheme is
        // checked before libcurl sees it, so this is a redirect to another scheme or an
        // HTTP/0.9 reply, which libcurl refuses.
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2,
            CURLE_HTTP2_STREAM, CURLE_HTTP3, CURLE_PARTIAL_FILE, CURLE_HTTP_RETURNED_ERROR,
            CURLE_TOO_MANY_REDIRECTS, CURLE_GOT_NOTHING, CURLE_BAD_CONTENT_ENCODING,
            CURLE_FILESIZE_EXCEEDED, CURLE_REMOTE_ACCESS_DENIED, CURLE_LOGIN_DENIED,
            CURLE_AUTH_ERROR, CURLE_QUIC_CONNECT_ERROR, CURLE_UPLOAD_FAILED:
            self = .protocol
        case CURLE_ABORTED_BY_CALLBACK, CURLE_WRITE_ERROR, CURLE_READ_ERROR:
            self = .aborted
        case CURLE_URL_MALFORMAT, CURLE_BAD_FUNCTION_ARGUMENT, CURLE_SETOPT_OPTION_SYNTAX,
            CURLE_SEND_FAIL_REWIND:
            self = .invalidRequest
        default:
            self = .internal
        }
    }
}
