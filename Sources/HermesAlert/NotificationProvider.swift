import HermesCore
import HermesHTTP

/// Every provider, in the order they are configured, sent to and listed (the Python Hermes's:
/// webhook, Gotify, ntfy, Apprise).
///
/// A provider is one file holding its `ProviderDefinition`: its name, its options and their
/// environment variables, its configuration check and its request. Adding one means that file, a
/// line here, its `@Option` lines in hermes-alert's `ProviderOptions` (ArgumentParser takes options
/// only from declared properties; a missing one stops the first run that parses them), its lines in
/// the manual, and its tests. The settings, "no provider configured", the help's list of providers,
/// the state and `hermes-alert test` follow from this list.
public enum Providers {
    public static let all: [any ProviderDefinition.Type] = [
        WebhookProvider.self, GotifyProvider.self, NtfyProvider.self, AppriseProvider.self,
    ]

    /// `webhook, Gotify, ntfy and Apprise`, for help texts.
    public static var displayNames: String {
        enumeration(all.map { $0.displayName }, conjunction: "and")
    }

    /// Why a run that needs a provider cannot start: none is configured. Names the option that turns
    /// each one on.
    public static var noneConfigured: String {
        let options = enumeration(all.map { $0.enablingOption.flag }, conjunction: "or")
        return "no provider configured: give \(options) (or ALERT_* variables)"
    }

    /// `a`, `a or b`, `a, b or c`.
    static func enumeration(_ items: [String], conjunction: String) -> String {
        guard let last = items.last else { return "" }
        guard items.count > 1 else { return last }
        return items.dropLast().joined(separator: ", ") + " \(conjunction) " + last
    }
}

/// A kind of provider, declared in its own file: what configures it and how (here), and the
/// request that delivers a notification (`NotificationProvider`). Listed in `Providers.all`.
public protocol ProviderDefinition: NotificationProvider {
    /// Short lower-case name for the state file, messages and `hermes-alert test`: `webhook`,
    /// `gotify`. Changing it forgets the cooldowns and owed recoveries kept under the old one.
    static var name: String { get }

    /// The name in prose: `webhook`, `Gotify`.
    static var displayName: String { get }

    /// Its command-line options with their environment variables, in the order `--help` shows them.
    static var options: [ProviderOption] { get }

    /// The option whose value, from the flag or the environment, turns the provider on.
    static var enablingOption: ProviderOption { get }

    /// The provider as `settings` configure it; nil when its enabling option has no value. A
    /// configuration that can never work (a missing token, an unusable file) is an error, with a
    /// message that never shows a secret.
    static func configured(by settings: ProviderSettings) throws(ConfigurationError) -> Self?
}

extension ProviderDefinition {
    public var name: String { Self.name }
}

/// A service that delivers notifications: the request side of a `ProviderDefinition`.
public protocol NotificationProvider: Sendable {
    /// The provider's `ProviderDefinition.name`.
    var name: String { get }

    /// The request that delivers `notification`: URL, method, headers, body and `displayURL`.
    /// Timeouts, address pinning and the redirect policy are `Delivery`'s business.
    func request(for notification: AlertNotification) -> HTTPRequest

    /// Why a 2xx answer still means nothing was sent; nil when it was delivered.
    func undelivered(_ response: HTTPResponse) -> String?
}

extension NotificationProvider {
    public func undelivered(_ response: HTTPResponse) -> String? { nil }

    /// `scheme://host[:port]/…`: for URLs whose path is itself a secret (webhook paths, ntfy
    /// topics), shown instead of the URL in every message.
    static func hostOnly(_ url: String) -> String {
        let redacted = ParsedURL.redact(url)
        guard let schemeEnd = redacted.firstRange(of: "://") else { return redacted }
        let afterScheme = redacted[schemeEnd.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" }
        return "\(redacted[..<schemeEnd.upperBound])\(authority)/…"
    }

    /// `base` without trailing slashes, then `/` and `path`.
    static func join(_ base: String, _ path: String) -> String {
        var trimmed = Substring(base)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return "\(trimmed)/\(path)"
    }
}
