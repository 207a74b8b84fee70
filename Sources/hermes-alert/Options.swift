import ArgumentParser
import HermesAlert

/// Where the state lives.
struct StateOptions: ParsableArguments {
    @Option(
        name: .customLong("state"),
        help: ArgumentHelp(
            "The state file (default: $HERMES_ALERT_STATE, else alert-state.json in the state directory).",
            valueName: "path"))
    var path: String?

    func apply(to flags: inout AlertSettings.Flags) {
        flags.statePath = path
    }
}

/// When to alert.
struct PolicyOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Alert after <n> consecutive failure records (default 3; $ALERT_FAILURE_THRESHOLD).", valueName: "n"))
    var failureThreshold: Int?

    @Option(
        help: ArgumentHelp(
            "Repeat a firing alert at most once per <duration>, e.g. 30m or 2h (default 60m; $ALERT_COOLDOWN_MINUTES).",
            valueName: "duration"))
    var cooldown: String?

    @Flag(help: "Send no message when an alert clears.")
    var noRecovery = false

    @Option(
        name: .customLong("min-download"),
        help: ArgumentHelp("Alert when download is below <mbps> Mbit/s.", valueName: "mbps"))
    var minimumDownload: Double?

    @Option(
        name: .customLong("min-upload"),
        help: ArgumentHelp("Alert when upload is below <mbps> Mbit/s.", valueName: "mbps"))
    var minimumUpload: Double?

    @Option(
        name: .customLong("max-ping"),
        help: ArgumentHelp("Alert when ping is above <ms> milliseconds.", valueName: "ms"))
    var maximumPing: Double?

    @Option(
        name: .customLong("min-rpm"),
        help: ArgumentHelp(
            "Alert when responsiveness under load (responsiveness_rpm) is below <rpm> round trips per minute; results without it are not judged.",
            valueName: "rpm"))
    var minimumRPM: Double?

    @Option(
        help: ArgumentHelp(
            "Fire a threshold alert after <n> consecutive breaching results (default 3).", valueName: "n"))
    var breachCount: Int?

    @Option(
        help: ArgumentHelp(
            "Clear a firing alert after <n> consecutive good results (default 1; $ALERT_RECOVERY_COUNT).",
            valueName: "n"))
    var recoveryCount: Int?

    func validate() throws {
        if let failureThreshold, !(1...10_000).contains(failureThreshold) {
            throw ValidationError("--failure-threshold must be 1 to 10000, got \(failureThreshold)")
        }
        if let breachCount, !(1...10_000).contains(breachCount) {
            throw ValidationError("--breach-count must be 1 to 10000, got \(breachCount)")
        }
        if let recoveryCount, !(1...10_000).contains(recoveryCount) {
            throw ValidationError("--recovery-count must be 1 to 10000, got \(recoveryCount)")
        }
        for (flag, value) in [
            ("--min-download", minimumDownload), ("--min-upload", minimumUpload), ("--max-ping", maximumPing),
            ("--min-rpm", minimumRPM),
        ] {
            if let value, !(value.isFinite && value >= 0) {
                throw ValidationError("\(flag) must be a number of 0 or more, got \(value)")
            }
        }
    }

    func apply(to flags: inout AlertSettings.Flags) {
        flags.failureThreshold = failureThreshold
        flags.cooldown = cooldown
        flags.noRecovery = noRecovery
        flags.minimumDownloadMbps = minimumDownload
        flags.minimumUploadMbps = minimumUpload
        flags.maximumPingMs = maximumPing
        flags.minimumRPM = minimumRPM
        flags.breachCount = breachCount
        flags.recoveryCount = recoveryCount
    }
}

/// Where and how to send: the delivery options, then each provider's, as its `ProviderDefinition`
/// declares them. ArgumentParser takes options only from declared properties, so each provider
/// option has its line here and its entry in `providerValues`; `apply` stops on one it lacks.
struct ProviderOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Give each provider <duration> in all, retries included (default 10s).", valueName: "duration"))
    var timeout: String?

    @Flag(help: "Allow provider URLs on loopback, private, CGNAT and unique local addresses (LAN servers).")
    var allowPrivateTargets = false

    @Option(WebhookProvider.urlOption) var webhookURL: String?

    @Option(GotifyProvider.urlOption) var gotifyURL: String?
    @Option(GotifyProvider.tokenFileOption) var gotifyTokenFile: String?
    @Option(GotifyProvider.priorityOption) var gotifyPriority: Int?

    @Option(NtfyProvider.urlOption) var ntfyURL: String?
    @Option(NtfyProvider.topicOption) var ntfyTopic: String?
    @Option(NtfyProvider.tokenFileOption) var ntfyTokenFile: String?
    @Option(NtfyProvider.priorityOption) var ntfyPriority: Int?
    @Option(NtfyProvider.tagsOption) var ntfyTags: String?

    @Option(AppriseProvider.urlOption) var appriseURL: String?
    @Option(AppriseProvider.serviceURLsFileOption) var appriseURLsFile: String?

    /// Every provider option above with its value, nil when not given.
    var providerValues: [(option: ProviderOption, value: String?)] {
        [
            (WebhookProvider.urlOption, webhookURL),
            (GotifyProvider.urlOption, gotifyURL), (GotifyProvider.tokenFileOption, gotifyTokenFile),
            (GotifyProvider.priorityOption, gotifyPriority.map { String($0) }),
            (NtfyProvider.urlOption, ntfyURL), (NtfyProvider.topicOption, ntfyTopic),
            (NtfyProvider.tokenFileOption, ntfyTokenFile),
            (NtfyProvider.priorityOption, ntfyPriority.map { String($0) }),
            (NtfyProvider.tagsOption, ntfyTags),
            (AppriseProvider.urlOption, appriseURL), (AppriseProvider.serviceURLsFileOption, appriseURLsFile),
        ]
    }

    func validate() throws {
        let values = providerValues
        // A provider added to Providers.all without its lines above: every run says which, so the
        // first test of the new provider fails with the option named.
        for definition in Providers.all {
            for option in definition.options where !values.contains(where: { $0.option == option }) {
                throw ValidationError(
                    "\(definition.name)'s \(option.flag) has no @Option in ProviderOptions (Options.swift)")
            }
        }
        for (option, value) in values where option.needsValue && value?.isEmpty == true {
            throw ValidationError("\(option.flag) needs a value")
        }
    }

    func apply(to flags: inout AlertSettings.Flags) {
        flags.timeout = timeout
        flags.allowPrivateTargets = allowPrivateTargets
        for (option, value) in providerValues { flags[option] = value }
    }
}

extension Option {
    /// A provider's option as its definition declares it: `--name <valueName>` and its help.
    init<T>(_ option: ProviderOption) where T: ExpressibleByArgument, Value == T? {
        self.init(name: .customLong(option.name), help: ArgumentHelp(option.help, valueName: option.valueName))
    }
}
