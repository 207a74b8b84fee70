import Glibc
import HermesCore
import HermesHTTP

/// Prometheus remote write 1.0: a `prompb.WriteRequest` (protobuf), snappy-compressed.
///
///     WriteRequest { repeated TimeSeries timeseries = 1; }
///     TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
///     Label        { string name = 1; string value = 2; }
///     Sample       { double value = 1; int64 timestamp = 2; }   // milliseconds
///
/// Each record becomes one sample per series of the textfile's metrics, stamped with the record's
/// own time. A `WriteRequest` is its `timeseries` fields one after another, so the spool keeps each
/// record's encoded series and a request is their concatenation.
public enum RemoteWrite {
    /// The encoded `timeseries` fields of what the metrics said at `state`'s run, at `milliseconds`.
    /// Labels: `__name__`, the family's own, then `labels` (`--label`, `probe`), sorted by name as
    /// the protocol requires; empty values are left out (Prometheus reads them as absent).
    static func series(
        of state: MetricState, at milliseconds: Int64, labels: [(name: String, value: String)], compatibility: Bool
    ) -> [UInt8] {
        var writer = ProtobufWriter()
        for family in Exposition.families(of: state, compatibility: compatibility) {
            for sample in family.samples {
                var merged: [String: String] = [:]
                for label in labels { merged[label.name] = label.value }
                // A family's empty value (an info label nobody set) must not hide `probe`.
                for label in sample.labels where !label.value.isEmpty { merged[label.name] = label.value }
                merged["__name__"] = family.name
                let sorted = merged.filter { !$0.value.isEmpty }.sorted {
                    Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8)
                }
                writer.message(1) { series in
                    for (name, value) in sorted {
                        series.message(1) { label in
                            label.string(1, name)
                            label.string(2, value)
                        }
                    }
                    series.message(2) { point in
                        point.double(1, sample.value)
                        point.int64(2, milliseconds)
                    }
                }
            }
        }
        return writer.bytes
    }

    /// This machine's name, the `probe` of records that carry none.
    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}

/// `--remote-write`: where and how.
public struct RemoteWriteConfiguration: Sendable {
    public var url: String
    public var tenant: String?
    /// The whole `Authorization` header value. Secret: never printed.
    public var authorization: String?
    public var timeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(10))
    public var maximumRetries = 5
    public var minimumBackoff: Duration = .milliseconds(500)
    public var maximumBackoff: Duration = .seconds(30)
    /// Spooled entries per request, base64 of the protobuf: about 384 KiB of protobuf before
    /// snappy, some 170 records and 3,000 samples, well under what Prometheus, Mimir and Grafana
    /// Cloud take in one request.
    public var maximumRequestBytes = 512 << 10

    public init(url: String, tenant: String? = nil, authorization: String? = nil) {
        self.url = url
        self.tenant = tenant
        self.authorization = authorization
    }

    /// The spec's retries: 5xx and 429 with backoff (and network errors), any other 4xx final.
    public var retryPolicy: RetryPolicy {
        RetryPolicy(
            firstDelay: minimumBackoff, maximumDelay: maximumBackoff, jitter: true, maximumRetryAfter: maximumBackoff,
            maximumAttempts: maximumRetries + 1)
    }

    public typealias Flags = PushFlags

    /// From flags, then `HERMES_REMOTE_WRITE_URL`, `_TENANT` and `_USER`; secrets from files or the
    /// credentials `remote-write-password` and `remote-write-token`. Nil when no URL is given.
    public static func resolve(_ flags: Flags, environment: Environment) throws(ConfigurationError)
        -> RemoteWriteConfiguration?
    {
        guard let url = flags.url ?? environment.first("HERMES_REMOTE_WRITE_URL")?.value else { return nil }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ConfigurationError("the remote-write URL must start with http:// or https://")
        }
        var configuration = RemoteWriteConfiguration(
            url: url.trimming(), tenant: flags.tenant ?? environment.first("HERMES_REMOTE_WRITE_TENANT")?.value)
        configuration.authorization = try PushAuthorization.resolve(
            receiver: "remote-write", user: flags.user ?? environment.first("HERMES_REMOTE_WRITE_USER")?.value,
            passwordFile: flags.passwordFile,
            tokenFile: flags.tokenFile, credentials: PushAuthorization.remoteWrite, flagPrefix: "--remote-write",
            environment: environment)
        configuration.timeouts.total = flags.timeout
        configuration.timeouts.connect = min(flags.timeout, .seconds(5))
        configuration.maximumRetries = flags.retries
        return configuration
    }
}

/// What the command line said about one push receiver (`--loki-*`, `--remote-write-*`); nil
/// where a flag was not given.
public struct PushFlags: Sendable {
    public var url: String?
    public var tenant: String?
    public var user: String?
    public var passwordFile: String?
    public var tokenFile: String?
    public var timeout: Duration = .seconds(10)
    public var retries = 5

    public init() {}
}

/// The `Authorization` header of a push: a bearer token, or basic authentication with a user and
/// a password, each secret read from a file or a systemd credential.
public enum PushAuthorization {
    /// The systemd credential names of a receiver's secrets (hermes.service's `LoadCredential=`).
    public struct Credentials: Sendable {
        public var token: String
        public var password: String
    }

    public static let loki = Credentials(token: "loki-token", password: "loki-password")
    public static let remoteWrite = Credentials(token: "remote-write-token", password: "remote-write-password")

    public static func resolve(
        receiver: String, user: String?, passwordFile: String?, tokenFile: String?, credentials: Credentials,
        flagPrefix: String, environment: Environment
    ) throws(ConfigurationError) -> String? {
        if let token = try SecretFile.read(
            path: tokenFile, credential: credentials.token, environment: environment)
        {
            return LokiConfiguration.bearerAuthorization(token: token)
        }
        if let user {
            guard
                let password = try SecretFile.read(
                    path: passwordFile, credential: credentials.password, environment: environment)
            else {
                throw ConfigurationError(
                    "a \(receiver) user is set but no password: give \(flagPrefix)-password-file or $CREDENTIALS_DIRECTORY/\(credentials.password)"
                )
            }
            return LokiConfiguration.basicAuthorization(user: user, password: password)
        }
        return nil
    }
}

/// `--remote-write`: each record's series, spooled encoded (base64 on the spool's line), sent as
/// one snappy-compressed `WriteRequest` per request.
public final class RemoteWriteTarget: PushTarget {
    public let configuration: RemoteWriteConfiguration
    public let client: PushClient

    public init(_ configuration: RemoteWriteConfiguration, diagnostics: Diagnostics) {
        self.configuration = configuration
        client = PushClient(
            receiverName: "the remote-write receiver", url: configuration.url,
            headers: PushClient.headers(
                [
                    "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                    "X-Prometheus-Remote-Write-Version": "0.1.0",
                ], tenant: configuration.tenant, authorization: configuration.authorization),
            timeouts: configuration.timeouts, retryPolicy: configuration.retryPolicy, diagnostics: diagnostics)
        // Remote write 1.0: retry 5xx and 429; every other 4xx, 408 included, is final.
        client.isRetryableStatus = { $0 == 429 || (500...599).contains($0) }
    }

    public var sinkName: String { "remote_write" }
    public var displayName: String { "remote write" }
    public var destination: String { configuration.url + " tenant=" + (configuration.tenant ?? "") }
    public var maximumRequestBytes: Int { configuration.maximumRequestBytes }

    public func payload(for record: Record, _ context: ExportContext) -> [UInt8] {
        let probe: String? =
            switch record {
            case .result(let result): result.extensions.probe
            case .failure(let failure): failure.probe
            }
        let labels = context.labels + [("probe", probe.flatMap { $0.isEmpty ? nil : $0 } ?? RemoteWrite.hostName)]
        let series = RemoteWrite.series(
            of: context.state.asOf(record), at: record.timestamp.millisecondsSinceEpoch, labels: labels,
            compatibility: context.compatibilityMetrics)
        return Array(Base64.encode(series).utf8)
    }

    public func push(_ payloads: [[UInt8]]) throws(ExportError) {
        var request: [UInt8] = []
        for payload in payloads {
            guard let series = Base64.decode(payload) else {
                throw .refused(message: "a spooled remote-write entry is not base64", status: 400)
            }
            request += series
        }
        do {
            try client.push(body: Snappy.compress(request), recordCount: payloads.count)
        } catch .refused(let message, let status) where status == 400 && Self.isTooOld(message) {
            throw .refused(
                message:
                    "\(message) (Prometheus takes samples in time order per series and no older than about an hour behind its newest, unless storage.tsdb.out_of_order_time_window is set)",
                status: status)
        }
    }

    static func isTooOld(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return ["out of order", "out of bounds", "too old", "out-of-order"].contains { lowered.contains($0) }
    }
}
