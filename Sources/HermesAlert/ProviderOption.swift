import HermesCore

/// One command-line option of a provider and the environment variables that stand in for it. The
/// command turns it into an option (`--name <valueName>` with `help`); the provider's
/// `ProviderDefinition.configured(by:)` reads its value through `ProviderSettings`.
public struct ProviderOption: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        /// Text such as a URL or a topic; the command line refuses an empty value.
        case text
        /// Comma-separated items; an empty value on the command line counts as not given.
        case list
        /// An integer; the provider clamps it to its range.
        case integer
        /// The path of a file of secrets; the command line refuses an empty value. Without the flag
        /// the systemd credential `credential` (`LoadCredential=`) is read when present.
        case secretFile(credential: String)
    }

    /// The long flag without its dashes: `gotify-url`.
    public let name: String
    public let value: Value
    /// The `<valueName>` the help shows after the flag.
    public let valueName: String
    public let help: String
    /// The variables read when the flag is not given, first set wins: `HERMES_ALERT_*`, then the
    /// Python Hermes's `ALERT_*`. For a secret file they hold the secret itself, not a path.
    public let variables: [String]

    public init(_ name: String, _ value: Value = .text, valueName: String, help: String, variables: [String] = []) {
        self.name = name
        self.value = value
        self.valueName = valueName
        self.help = help
        self.variables = variables
    }

    /// `--gotify-url`, as messages name it.
    public var flag: String { "--" + name }

    /// Whether the command line refuses an empty value (`--gotify-url ""`).
    public var needsValue: Bool {
        switch value {
        case .list, .integer: false
        case .text, .secretFile: true
        }
    }
}

/// What a provider is configured from: its flags' values and the environment, read through the
/// precedence every provider shares: the flag, then the option's variables in order. Empty values
/// count as unset, as the Python Hermes treated them.
public struct ProviderSettings: Sendable {
    /// Flag values by `ProviderOption.name`, as given.
    public var flags: [String: String]
    public var environment: Environment

    public init(flags: [String: String] = [:], environment: Environment) {
        self.flags = flags
        self.environment = environment
    }

    /// Whether the flag was given a value.
    public func isGiven(_ option: ProviderOption) -> Bool {
        flags[option.name]?.isEmpty == false
    }

    /// The flag's value, else the first of the option's variables that is set; nil when none is.
    public func text(_ option: ProviderOption) -> String? {
        if let flag = flags[option.name], !flag.isEmpty { return flag }
        for name in option.variables {
            if let value = environment.first(name)?.value { return value }
        }
        return nil
    }

    /// The flag's value, else the first variable set, else `default`; any integer (providers clamp).
    public func integer(_ option: ProviderOption, default: Int) throws(ConfigurationError) -> Int {
        if let flag = flags[option.name], !flag.isEmpty {
            return try AlertSettings.integer(flag, option.flag, in: Int.min...Int.max)
        }
        for name in option.variables {
            if let value = environment.first(name)?.value {
                return try AlertSettings.integer(value, name, in: Int.min...Int.max)
            }
        }
        return `default`
    }

    /// A token from the file the flag names, else `$CREDENTIALS_DIRECTORY/<credential>` (systemd
    /// `LoadCredential=`), else the option's variables; nil when there is none. The value is never
    /// part of a message.
    public func secret(_ option: ProviderOption) throws(ConfigurationError) -> String? {
        let credential = Self.credential(of: option)
        if let token = try SecretFile.read(path: flags[option.name], credential: credential, environment: environment) {
            return try Self.checkedSecret(token.trimming(" \t"), origin: origin(of: option))
        }
        for name in option.variables {
            if let value = environment.first(name)?.value {
                return try Self.checkedSecret(value.trimming(" \t\r\n"), origin: name)
            }
        }
        return nil
    }

    /// The entries of the file the flag names, else of the credential, one a line (blank lines
    /// and `#` comments skipped), with where they came from for messages, which must never show an
    /// entry; nil when there is neither. The option's variables are not read.
    public func secretLines(_ option: ProviderOption) throws(ConfigurationError) -> (lines: [String], origin: String)? {
        let path = isGiven(option) ? flags[option.name] : nil
        guard
            let lines = try SecretFile.readLines(
                path: path, credential: Self.credential(of: option), environment: environment)
        else { return nil }
        return (lines, origin(of: option))
    }

    /// The flag when it was given, else `credential <name>`.
    func origin(of option: ProviderOption) -> String {
        isGiven(option) ? option.flag : "credential \(Self.credential(of: option))"
    }

    private static func credential(of option: ProviderOption) -> String {
        guard case .secretFile(let credential) = option.value else {
            preconditionFailure("\(option.flag) is not a secret file option")
        }
        return credential
    }

    /// The value is never part of a message.
    private static func checkedSecret(_ token: String, origin: String) throws(ConfigurationError) -> String {
        guard !token.isEmpty else { throw ConfigurationError("\(origin): the token is empty") }
        guard token.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else {
            throw ConfigurationError("\(origin): the token contains spaces, line breaks or other unusable characters")
        }
        return token
    }
}
