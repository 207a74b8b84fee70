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
        flags.breachCount = breachCount
        flags.recoveryCount = recoveryCount
    }
}

/// Where and how to send.
struct ProviderOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Give each provider <duration> in all, retries included (default 10s).", valueName: "duration"))
    var timeout: String?

    @Flag(help: "Allow provider URLs on loopback, private, CGNAT and unique local addresses (LAN servers).")
    var allowPrivateTargets = false

    @Option(help: ArgumentHelp("POST JSON to <url> ($ALERT_WEBHOOK_URL).", valueName: "url"))
    var webhookUrl: String?

    @Option(help: ArgumentHelp("Send to the Gotify server at <url> ($ALERT_GOTIFY_URL).", valueName: "url"))
    var gotifyUrl: String?

    @Option(help: ArgumentHelp("Read the Gotify application token from <path>.", valueName: "path"))
    var gotifyTokenFile: String?

    @Option(help: ArgumentHelp("Gotify priority, 0 to 10 (default 5).", valueName: "n"))
    var gotifyPriority: Int?

    @Option(help: ArgumentHelp("The ntfy server (default https://ntfy.sh; $ALERT_NTFY_URL).", valueName: "url"))
    var ntfyUrl: String?

    @Option(help: ArgumentHelp("Publish to the ntfy <topic> ($ALERT_NTFY_TOPIC).", valueName: "topic"))
    var ntfyTopic: String?

    @Option(help: ArgumentHelp("Read an ntfy access token from <path>.", valueName: "path"))
    var ntfyTokenFile: String?

    @Option(help: ArgumentHelp("ntfy priority, 1 to 5 (default 3).", valueName: "n"))
    var ntfyPriority: Int?

    @Option(
        help: ArgumentHelp("Comma-separated ntfy tags (default warning,rotating_light).", valueName: "tags"))
    var ntfyTags: String?

    @Option(
        help: ArgumentHelp(
            "Send to the Apprise API at <url>: .../notify/KEY, or a base URL for stateless mode ($ALERT_APPRISE_URL).",
            valueName: "url"))
    var appriseUrl: String?

    @Option(
        help: ArgumentHelp(
            "Read Apprise service URLs for stateless mode from <path>, one a line, # for comments (default: the apprise-urls credential).",
            valueName: "path"))
    var appriseUrlsFile: String?

    func validate() throws {
        for (flag, value) in [
            ("--webhook-url", webhookUrl), ("--gotify-url", gotifyUrl), ("--ntfy-url", ntfyUrl),
            ("--apprise-url", appriseUrl), ("--ntfy-topic", ntfyTopic), ("--gotify-token-file", gotifyTokenFile),
            ("--ntfy-token-file", ntfyTokenFile), ("--apprise-urls-file", appriseUrlsFile),
        ] where value?.isEmpty == true {
            throw ValidationError("\(flag) needs a value")
        }
    }

    func apply(to flags: inout AlertSettings.Flags) {
        flags.timeout = timeout
        flags.allowPrivateTargets = allowPrivateTargets
        flags.webhookURL = webhookUrl
        flags.gotifyURL = gotifyUrl
        flags.gotifyTokenFile = gotifyTokenFile
        flags.gotifyPriority = gotifyPriority
        flags.ntfyURL = ntfyUrl
        flags.ntfyTopic = ntfyTopic
        flags.ntfyTokenFile = ntfyTokenFile
        flags.ntfyPriority = ntfyPriority
        flags.ntfyTags = ntfyTags
        flags.appriseURL = appriseUrl
        flags.appriseURLsFile = appriseUrlsFile
    }
}
