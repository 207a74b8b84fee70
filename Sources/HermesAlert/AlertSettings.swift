import HermesCore
import HermesHTTP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything a run needs from the command line and the environment: flags first, then
/// `HERMES_ALERT_*`, then the Python Hermes `ALERT_*` names, then defaults (DESIGN.md §4).
/// Tokens come from files or the environment, never from a flag value.
public struct AlertSettings: Sendable {
    /// Flag values as given; nil (or empty) when absent.
    public struct Flags: Sendable {
        public var statePath: String?
        public var failureThreshold: Int?
        public var cooldown: String?
        public var noRecovery = false
        public var minimumDownloadMbps: Double?
        public var minimumUploadMbps: Double?
        public var maximumPingMs: Double?
        public var breachCount: Int?
        public var recoveryCount: Int?
        public var timeout: String?
        public var allowPrivateTargets = false
        public var webhookURL: String?
        public var gotifyURL: String?
        public var gotifyTokenFile: String?
        public var gotifyPriority: Int?
        public var ntfyURL: String?
        public var ntfyTopic: String?
        public var ntfyTokenFile: String?
        public var ntfyPriority: Int?
        public var ntfyTags: String?
        public var appriseURL: String?
        public var appriseURLsFile: String?

        public init() {}
    }

    public var statePath: String
    public var policy: AlertPolicy
    public var delivery: DeliveryOptions
    /// In the Python Hermes's order: webhook, Gotify, ntfy, Apprise.
    public var providers: [any NotificationProvider]

    public static let defaultTimeout: Duration = .seconds(10)

    public static func resolve(_ flags: Flags, environment: Environment) throws(ConfigurationError) -> AlertSettings {
        var policy = AlertPolicy()
        if let threshold = flags.failureThreshold {
            policy.failureThreshold = threshold
        } else if let (name, value) = environment.first("HERMES_ALERT_FAILURE_THRESHOLD", "ALERT_FAILURE_THRESHOLD") {
            // The Python Hermes read 0 as "the default of 3".
            let number = try integer(value, name, in: 0...10_000)
            policy.failureThreshold = number == 0 ? AlertPolicy.defaultFailureThreshold : number
        }
        if let cooldown = flags.cooldown {
            policy.cooldownMilliseconds = try duration(cooldown, "--cooldown")
        } else if let (name, value) = environment.first("HERMES_ALERT_COOLDOWN") {
            policy.cooldownMilliseconds = try duration(value, name)
        } else if let (name, value) = environment.first("ALERT_COOLDOWN_MINUTES") {
            policy.cooldownMilliseconds = Int64(try integer(value, name, in: 0...525_600)) * 60_000
        }
        policy.sendsRecovery = !flags.noRecovery
        policy.minimumDownloadMbps = flags.minimumDownloadMbps
        policy.minimumUploadMbps = flags.minimumUploadMbps
        policy.maximumPingMs = flags.maximumPingMs
        if let breachCount = flags.breachCount { policy.breachCount = breachCount }
        if let recoveryCount = flags.recoveryCount {
            policy.recoveryCount = recoveryCount
        } else if let (name, value) = environment.first("HERMES_ALERT_RECOVERY_COUNT", "ALERT_RECOVERY_COUNT") {
            policy.recoveryCount = try integer(value, name, in: 1...10_000)
        }

        var timeout = defaultTimeout
        if let text = flags.timeout ?? environment.first("HERMES_ALERT_TIMEOUT")?.value {
            let milliseconds = try duration(text, flags.timeout != nil ? "--timeout" : "HERMES_ALERT_TIMEOUT")
            guard milliseconds > 0 else { throw ConfigurationError("the timeout must be more than 0") }
            timeout = .milliseconds(milliseconds)
        }
        let allowPrivate =
            flags.allowPrivateTargets
            || ["1", "true", "yes"].contains(
                environment.first("HERMES_ALERT_ALLOW_PRIVATE_TARGETS")?.value.lowercased())

        return AlertSettings(
            statePath: statePath(flags, environment: environment), policy: policy,
            delivery: DeliveryOptions(timeout: timeout, targetGuard: TargetGuard(allowsPrivateTargets: allowPrivate)),
            providers: try providers(flags, environment))
    }

    /// `--state`, else `$HERMES_ALERT_STATE`, else `alert-state.json` in the state directory.
    public static func statePath(_ flags: Flags, environment: Environment) -> String {
        flags.statePath ?? environment.first("HERMES_ALERT_STATE")?.value
            ?? environment.stateDirectory + "/" + StateFile.defaultName
    }

    private static func providers(_ flags: Flags, _ environment: Environment) throws(ConfigurationError)
        -> [any NotificationProvider]
    {
        var list: [any NotificationProvider] = []
        func setting(_ flag: String?, _ names: String...) -> String? {
            if let flag, !flag.isEmpty { return flag }
            for name in names { if let value = environment.first(name)?.value { return value } }
            return nil
        }
        if let url = setting(flags.webhookURL, "HERMES_ALERT_WEBHOOK_URL", "ALERT_WEBHOOK_URL") {
            list.append(WebhookProvider(url: url))
        }
        if let url = setting(flags.gotifyURL, "HERMES_ALERT_GOTIFY_URL", "ALERT_GOTIFY_URL") {
            guard
                let token = try secret(
                    file: flags.gotifyTokenFile, flag: "--gotify-token-file", credential: "gotify-token",
                    variables: ["HERMES_ALERT_GOTIFY_TOKEN", "ALERT_GOTIFY_TOKEN"], environment)
            else {
                throw ConfigurationError(
                    "Gotify needs an application token: --gotify-token-file, $CREDENTIALS_DIRECTORY/gotify-token or ALERT_GOTIFY_TOKEN"
                )
            }
            let priority = try integer(
                flags.gotifyPriority, ["HERMES_ALERT_GOTIFY_PRIORITY", "ALERT_GOTIFY_PRIORITY"], environment,
                default: GotifyProvider.defaultPriority)
            list.append(GotifyProvider(url: url, token: token, priority: priority))
        }
        if let topic = setting(flags.ntfyTopic, "HERMES_ALERT_NTFY_TOPIC", "ALERT_NTFY_TOPIC") {
            let token = try secret(
                file: flags.ntfyTokenFile, flag: "--ntfy-token-file", credential: "ntfy-token",
                variables: ["HERMES_ALERT_NTFY_TOKEN", "ALERT_NTFY_TOKEN"], environment)
            let priority = try integer(
                flags.ntfyPriority, ["HERMES_ALERT_NTFY_PRIORITY", "ALERT_NTFY_PRIORITY"], environment,
                default: NtfyProvider.defaultPriority)
            let tags =
                setting(flags.ntfyTags, "HERMES_ALERT_NTFY_TAGS", "ALERT_NTFY_TAGS").map { text in
                    text.split(separator: ",").map { String($0).trimming(" ") }.filter { !$0.isEmpty }
                } ?? NtfyProvider.defaultTags
            list.append(
                NtfyProvider(
                    url: setting(flags.ntfyURL, "HERMES_ALERT_NTFY_URL", "ALERT_NTFY_URL") ?? NtfyProvider.defaultURL,
                    topic: topic, token: token, priority: priority, tags: tags))
        }
        if let url = setting(flags.appriseURL, "HERMES_ALERT_APPRISE_URL", "ALERT_APPRISE_URL") {
            list.append(AppriseProvider(url: url, serviceURLs: try appriseServiceURLs(flags, environment)))
        } else if flags.appriseURLsFile?.isEmpty == false {
            throw ConfigurationError("Apprise service URLs need an Apprise API server: --apprise-url")
        }
        // A URL that can never work is a configuration error now, not a failed delivery on
        // every run. Where it points is checked at send time, after resolution (TargetGuard).
        for provider in list {
            let request = provider.request(for: .test(at: Timestamp(millisecondsSinceEpoch: 0)))
            do throws(HTTPError) {
                _ = try ParsedURL(request.url, displayURL: request.displayURL)
            } catch {
                throw ConfigurationError("\(provider.name): \(error.message)")
            }
        }
        return list
    }

    /// The `--apprise-urls-file` lines, else the `apprise-urls` credential; never a flag value,
    /// since they hold credentials, and no message shows one.
    private static func appriseServiceURLs(_ flags: Flags, _ environment: Environment) throws(ConfigurationError)
        -> [String]
    {
        let file = flags.appriseURLsFile?.isEmpty == false ? flags.appriseURLsFile : nil
        guard let listed = try SecretFile.readLines(path: file, credential: "apprise-urls", environment: environment)
        else { return [] }
        let origin = file != nil ? "--apprise-urls-file" : "credential apprise-urls"
        for (index, url) in listed.enumerated() where !url.contains("://") || url.contains(" ") {
            throw ConfigurationError(
                "\(origin): entry \(index + 1) is not an Apprise URL such as mailto://user:password@example.com")
        }
        return listed
    }

    /// A token from `--…-file`, else `$CREDENTIALS_DIRECTORY/<credential>` (systemd
    /// `LoadCredential=`), else the environment.
    static func secret(
        file: String?, flag: String, credential: String, variables: [String], _ environment: Environment
    ) throws(ConfigurationError) -> String? {
        if let token = try SecretFile.read(path: file, credential: credential, environment: environment) {
            let origin = file?.isEmpty == false ? flag : "credential \(credential)"
            return try checkedSecret(token.trimming(" \t"), origin: origin)
        }
        for name in variables {
            if let value = environment.first(name)?.value {
                return try checkedSecret(value.trimming(" \t\r\n"), origin: name)
            }
        }
        return nil
    }

    /// The value is never part of a message.
    private static func checkedSecret(_ token: String, origin: String) throws(ConfigurationError) -> String {
        guard !token.isEmpty else { throw ConfigurationError("\(origin): the token is empty") }
        guard token.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else {
            throw ConfigurationError("\(origin): the token contains spaces, line breaks or other unusable characters")
        }
        return token
    }

    /// The flag's value, else the first variable set, else `default`; any integer (providers clamp).
    private static func integer(_ flag: Int?, _ variables: [String], _ environment: Environment, default: Int)
        throws(ConfigurationError) -> Int
    {
        if let flag { return flag }
        for name in variables {
            if let value = environment.first(name)?.value { return try integer(value, name, in: Int.min...Int.max) }
        }
        return `default`
    }

    private static func integer(_ text: String, _ name: String, in range: ClosedRange<Int>) throws(ConfigurationError)
        -> Int
    {
        guard let number = Int(text.trimming(" \t")), range.contains(number) else {
            throw ConfigurationError("\(name)=\(text) is not an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    /// A duration in the one syntax of every tool (`DurationSyntax`); `0` is allowed.
    static func duration(_ text: String, _ name: String) throws(ConfigurationError) -> Int64 {
        guard let milliseconds = DurationSyntax.milliseconds(text) else {
            throw ConfigurationError("\(name) \(text) is not a duration such as \(DurationSyntax.examples)")
        }
        return milliseconds
    }
}
