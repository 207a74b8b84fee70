import Glibc
import HermesCore
import HermesHTTP

/// Where and how records are pushed to Loki.
public struct LokiConfiguration: Sendable {
    /// The full push URL, ending in `/loki/api/v1/push`.
    public var pushURL: String
    /// `job` first, then the `--loki-label` pairs; `probe` and `type` come from each record.
    public var staticLabels: [(name: String, value: String)]
    /// `X-Scope-OrgID`, for a multi-tenant Loki.
    public var tenant: String?
    /// The whole `Authorization` header value. Secret: never printed.
    public var authorization: String?
    public var timeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(10))
    /// Retries after the first attempt, for 429, 5xx and network errors.
    public var maximumRetries = 5
    public var minimumBackoff: Duration = .milliseconds(500)
    public var maximumBackoff: Duration = .seconds(30)

    /// Backoff from `minimumBackoff` doubling to `maximumBackoff`, jittered, `Retry-After`
    /// honoured up to the same cap, `maximumRetries` retries.
    public var retryPolicy: RetryPolicy {
        RetryPolicy(
            firstDelay: minimumBackoff, maximumDelay: maximumBackoff, jitter: true, maximumRetryAfter: maximumBackoff,
            maximumAttempts: maximumRetries + 1)
    }
    /// Uncompressed lines per request, as Promtail batched (1 MiB).
    public var maximumBatchBytes = 1 << 20

    public static let defaultJob = "hermes_speedtest"
    public static let pushPath = "/loki/api/v1/push"

    public init(
        pushURL: String, staticLabels: [(name: String, value: String)], tenant: String? = nil,
        authorization: String? = nil
    ) {
        self.pushURL = pushURL
        self.staticLabels = staticLabels
        self.tenant = tenant
        self.authorization = authorization
    }

    /// The push URL for a base URL, as the Python Hermes built it: kept when it already ends in
    /// the push path, else one trailing `/` dropped and the path appended.
    public static func pushURL(for base: String) -> String {
        let trimmed = base.trimming()
        if trimmed.hasSuffix(pushPath) { return trimmed }
        return (trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed) + pushPath
    }

    /// Loki label names follow the Prometheus rules: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting `__`.
    public static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !name.hasPrefix("__") else { return false }
        let isLetter = { (scalar: Unicode.Scalar) in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_"
        }
        return isLetter(first) && name.unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) }
    }

    /// Parses `--loki-label k=v`; the labels set per record cannot be overridden.
    public static func label(_ pair: String) throws(ConfigurationError) -> (name: String, value: String) {
        guard let equals = pair.firstIndex(of: "=") else {
            throw ConfigurationError("--loki-label \(pair): expected name=value")
        }
        let name = String(pair[..<equals])
        let value = String(pair[pair.index(after: equals)...])
        guard isValidLabelName(name) else {
            throw ConfigurationError("--loki-label \(pair): \"\(name)\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)")
        }
        guard !["job", "probe", "type"].contains(name) else {
            throw ConfigurationError("--loki-label \(pair): \(name) is set by hermes-export (use --loki-job for job)")
        }
        guard !value.isEmpty else { throw ConfigurationError("--loki-label \(pair): the value is empty") }
        return (name, value)
    }
}

enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let first = bytes[index]
            let second = remaining > 1 ? bytes[index + 1] : 0
            let third = remaining > 2 ? bytes[index + 2] : 0
            output.append(alphabet[Int(first >> 2)])
            output.append(alphabet[Int((first & 0x03) << 4 | second >> 4)])
            output.append(remaining > 1 ? alphabet[Int((second & 0x0F) << 2 | third >> 6)] : UInt8(ascii: "="))
            output.append(remaining > 2 ? alphabet[Int(third & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Standard base64 with padding; nil for anything else.
    static func decode(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count / 4 * 3)
        var index = 0
        while index < text.count {
            var group: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let character = text[index + offset]
                let value: UInt8
                switch character {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = character - UInt8(ascii: "A")
                case UInt8(ascii: "a")...UInt8(ascii: "z"): value = character - UInt8(ascii: "a") + 26
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0") + 52
                case UInt8(ascii: "+"): value = 62
                case UInt8(ascii: "/"): value = 63
                case UInt8(ascii: "=") where offset >= 2 && index + 4 == text.count:
                    value = 0
                    padding += 1
                default: return nil
                }
                if padding > 0 && character != UInt8(ascii: "=") { return nil }
                group = group << 6 | UInt32(value)
            }
            output.append(UInt8(truncatingIfNeeded: group >> 16))
            if padding < 2 { output.append(UInt8(truncatingIfNeeded: group >> 8)) }
            if padding < 1 { output.append(UInt8(truncatingIfNeeded: group)) }
            index += 4
        }
        return output
    }
}

extension LokiConfiguration {
    public static func basicAuthorization(user: String, password: String) -> String {
        "Basic " + Base64.encode(Array("\(user):\(password)".utf8))
    }

    public static func bearerAuthorization(token: String) -> String { "Bearer " + token }
}

extension LokiConfiguration {
    /// What the command line said about Loki: the flags every push has, and Loki's own.
    public struct Flags: Sendable {
        public var push = PushFlags()
        public var job: String?
        public var labels: [String] = []

        public init() {}
    }

    /// The Loki push from flags, then `HERMES_LOKI_*`, then the Python Hermes's `LOKI_URL` and
    /// `LOKI_JOB_LABEL`; nil when no URL is given anywhere. Secrets come from files or credentials.
    public static func resolve(_ flags: Flags, environment: Environment) throws(ConfigurationError)
        -> LokiConfiguration?
    {
        guard let url = flags.push.url ?? environment.first("HERMES_LOKI_URL", "LOKI_URL")?.value else { return nil }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ConfigurationError("the Loki URL in the environment must start with http:// or https://")
        }
        let job = flags.job ?? environment.first("HERMES_LOKI_JOB", "LOKI_JOB_LABEL")?.value.trimming()
        var labels: [(name: String, value: String)] = [
            ("job", job.flatMap { $0.isEmpty ? nil : $0 } ?? defaultJob)
        ]
        for pair in flags.labels { labels.append(try label(pair)) }
        var configuration = LokiConfiguration(
            pushURL: pushURL(for: url), staticLabels: labels,
            tenant: flags.push.tenant ?? environment.first("HERMES_LOKI_TENANT")?.value)
        configuration.authorization = try PushAuthorization.resolve(
            receiver: "Loki", user: flags.push.user ?? environment.first("HERMES_LOKI_USER")?.value,
            passwordFile: flags.push.passwordFile, tokenFile: flags.push.tokenFile, credentials: PushAuthorization.loki,
            flagPrefix: "--loki", environment: environment)
        configuration.timeouts.total = flags.push.timeout
        configuration.timeouts.connect = min(flags.push.timeout, .seconds(5))
        configuration.maximumRetries = flags.push.retries
        return configuration
    }
}
