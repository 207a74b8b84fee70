import Glibc
import HermesCore
import HermesHTTP

/// Everything a run needs from the command line and the environment: flags first, then
/// `HERMES_ALERT_*`, then the Python Hermes `ALERT_*` names, then defaults (docs/ARCHITECTURE.md, "Conventions").
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
        public var minimumRPM: Double?
        public var breachCount: Int?
        public var recoveryCount: Int?
        public var timeout: String?
        public var allowPrivateTargets = false
        /// The providers' flags (`ProviderDefinition.options`) by `ProviderOption.name`.
        public var providerFlags: [String: String] = [:]

        public init() {}

        /// A provider flag's value: `flags[GotifyProvider.urlOption] = "https://gotify.example"`.
        public subscript(option: ProviderOption) -> String? {
            get { providerFlags[option.name] }
            set { providerFlags[option.name] = newValue }
        }
    }

    public var statePath: String
    public var policy: AlertPolicy
    public var delivery: DeliveryOptions
    /// The configured ones of `Providers.all`, in its order.
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
        policy.minimumRPM = flags.minimumRPM
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
        let settings = ProviderSettings(flags: flags.providerFlags, environment: environment)
        var list: [any NotificationProvider] = []
        for definition in Providers.all {
            if let provider = try definition.configured(by: settings) { list.append(provider) }
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

    /// `text` as an integer in `range`, else an error naming `name` (a variable or a flag).
    static func integer(_ text: String, _ name: String, in range: ClosedRange<Int>) throws(ConfigurationError)
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
