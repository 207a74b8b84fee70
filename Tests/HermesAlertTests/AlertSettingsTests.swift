import HermesAlert
import HermesCore
import HermesHTTP
import HermesTestSupport
import Testing

/// The Python Hermes's `ALERT_*` variables, read as its `.env` would set them.
@Suite struct AlertSettingsTests {
    func resolve(_ variables: [String: String], _ flags: AlertSettings.Flags = .init()) throws -> AlertSettings {
        try AlertSettings.resolve(flags, environment: Environment(variables.merging(["HOME": "/home/h"]) { $1 }))
    }

    func headers<Provider: NotificationProvider>(_ type: Provider.Type, in settings: AlertSettings) -> HTTPHeaders? {
        settings.providers.first { $0 is Provider }?.request(for: .test(at: at(0))).headers
    }

    @Test func cooldownMinutesAndProviderDetails() throws {
        let settings = try resolve([
            "ALERT_COOLDOWN_MINUTES": "15", "ALERT_GOTIFY_URL": "https://g.example", "ALERT_GOTIFY_TOKEN": "gt",
            "ALERT_GOTIFY_PRIORITY": "8", "ALERT_NTFY_TOPIC": "topic", "ALERT_NTFY_TOKEN": " tk_env\n",
            "ALERT_NTFY_PRIORITY": "5", "ALERT_NTFY_TAGS": " a, ,b ",
        ])
        #expect(settings.policy.cooldownMilliseconds == 15 * 60_000)
        #expect(settings.providers.map(\.name) == ["gotify", "ntfy"])
        #expect((settings.providers.first { $0 is GotifyProvider } as? GotifyProvider)?.priority == 8)
        #expect(headers(GotifyProvider.self, in: settings)?["X-Gotify-Key"] == "gt")
        let ntfy = settings.providers.first { $0 is NtfyProvider } as? NtfyProvider
        #expect(ntfy?.priority == 5)
        #expect(ntfy?.tags == ["a", "b"])
        #expect(ntfy?.url == "https://ntfy.sh")
        #expect(headers(NtfyProvider.self, in: settings)?["Authorization"] == "Bearer tk_env")
    }

    @Test func recoveryCountFromFlagOrEnvironment() throws {
        #expect(try resolve([:]).policy.recoveryCount == 1)
        #expect(try resolve(["ALERT_RECOVERY_COUNT": "2"]).policy.recoveryCount == 2)
        var flags = AlertSettings.Flags()
        flags.recoveryCount = 4
        #expect(try resolve(["HERMES_ALERT_RECOVERY_COUNT": "3"], flags).policy.recoveryCount == 4)
        #expect(throws: ConfigurationError.self) { try resolve(["ALERT_RECOVERY_COUNT": "0"]) }
    }

    @Test func theCooldownAsADurationWinsOverMinutes() throws {
        let settings = try resolve(["HERMES_ALERT_COOLDOWN": "90s", "ALERT_COOLDOWN_MINUTES": "15"])
        #expect(settings.policy.cooldownMilliseconds == 90_000)
        #expect(throws: ConfigurationError.self) { try resolve(["ALERT_COOLDOWN_MINUTES": "soon"]) }
    }

    /// The Python Hermes read 0 as "the default of 3".
    @Test(arguments: [("0", 3), ("1", 1), ("7", 7)])
    func failureThresholdFromThePythonVariable(value: String, threshold: Int) throws {
        #expect(try resolve(["ALERT_FAILURE_THRESHOLD": value]).policy.failureThreshold == threshold)
    }

    @Test func flagsWinOverHermesVariablesWhichWinOverPythonOnes() throws {
        var flags = AlertSettings.Flags()
        #expect(
            try resolve(["HERMES_ALERT_FAILURE_THRESHOLD": "4", "ALERT_FAILURE_THRESHOLD": "6"], flags).policy
                .failureThreshold == 4)
        flags.failureThreshold = 2
        #expect(try resolve(["HERMES_ALERT_FAILURE_THRESHOLD": "4"], flags).policy.failureThreshold == 2)
        #expect(throws: ConfigurationError.self) { try resolve(["ALERT_FAILURE_THRESHOLD": "-1"]) }
    }

    func serviceURLs(_ settings: AlertSettings) -> [String]? {
        (settings.providers.first { $0 is AppriseProvider } as? AppriseProvider)?.serviceURLs
    }

    @Test func appriseServiceURLsComeFromAFileOrTheCredential() throws {
        let directory = try TemporaryDirectory()
        let list = try directory.write(
            "# home\nmailto://u:p@mail.example\n\n  tgram://bot/chat  \n#gotifys://old/x\n", to: "list")
        _ = try directory.write("pover://user@token\n", to: "apprise-urls")
        let credentials = ["CREDENTIALS_DIRECTORY": directory.path, "ALERT_APPRISE_URL": "https://a.example"]
        var flags = AlertSettings.Flags()
        #expect(serviceURLs(try resolve(credentials, flags)) == ["pover://user@token"])
        flags[AppriseProvider.serviceURLsFileOption] = list
        #expect(serviceURLs(try resolve(credentials, flags)) == ["mailto://u:p@mail.example", "tgram://bot/chat"])
        flags[AppriseProvider.serviceURLsFileOption] = nil
        #expect(serviceURLs(try resolve(["ALERT_APPRISE_URL": "https://a.example"], flags)) == [], "stateful")
    }

    @Test func aBadAppriseURLsFileIsAConfigurationErrorThatHidesItsContents() throws {
        let directory = try TemporaryDirectory()
        var flags = AlertSettings.Flags()
        flags[AppriseProvider.urlOption] = "https://a.example"
        flags[AppriseProvider.serviceURLsFileOption] = try directory.write(
            "mailto://u:p@mail.example\nsecret-password\n", to: "list")
        let error = try #require(throws: ConfigurationError.self) { try resolve([:], flags) }
        #expect(
            error.message
                == "--apprise-urls-file: entry 2 is not an Apprise URL such as mailto://user:password@example.com")
        flags[AppriseProvider.serviceURLsFileOption] = try directory.write("# nothing\n\n", to: "empty")
        #expect(throws: ConfigurationError.self) { try resolve([:], flags) }
        flags[AppriseProvider.urlOption] = nil
        flags[AppriseProvider.serviceURLsFileOption] = directory.file("list")
        let alone = try #require(throws: ConfigurationError.self) { try resolve([:], flags) }
        #expect(alone.message.contains("need an Apprise API server"))
    }

    /// The list drives the names kept in the state, the options and the message when none is set.
    @Test func theProvidersAreOneList() {
        #expect(Providers.all.map { $0.name } == ["webhook", "gotify", "ntfy", "apprise"])
        #expect(Providers.displayNames == "webhook, Gotify, ntfy and Apprise")
        #expect(
            Providers.noneConfigured
                == "no provider configured: give --webhook-url, --gotify-url, --ntfy-topic or --apprise-url (or ALERT_* variables)"
        )
        let names = Providers.all.flatMap { $0.options }.map(\.name)
        #expect(Set(names).count == names.count, "no flag is declared twice: \(names)")
        for definition in Providers.all {
            #expect(definition.options.contains(definition.enablingOption), "\(definition.name)")
        }
    }

    @Test func providerFlagsWinOverTheirVariables() throws {
        var flags = AlertSettings.Flags()
        flags[GotifyProvider.urlOption] = "https://g.example"
        flags[GotifyProvider.priorityOption] = "9"
        let settings = try resolve(
            [
                "ALERT_GOTIFY_URL": "https://env.example", "ALERT_GOTIFY_TOKEN": "gt",
                "HERMES_ALERT_GOTIFY_PRIORITY": "2",
            ], flags)
        let gotify = settings.providers.first { $0 is GotifyProvider } as? GotifyProvider
        #expect(gotify?.url == "https://g.example")
        #expect(gotify?.priority == 9)
        flags[GotifyProvider.priorityOption] = nil
        let error = try #require(throws: ConfigurationError.self) {
            try resolve(["ALERT_GOTIFY_TOKEN": "gt", "ALERT_GOTIFY_PRIORITY": "high"], flags)
        }
        #expect(error.message.hasPrefix("ALERT_GOTIFY_PRIORITY=high is not an integer"))
    }

    @Test func gotifyWithoutATokenIsAConfigurationError() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try resolve(["ALERT_GOTIFY_URL": "https://g.example"])
        }
        #expect(
            error.message
                == "Gotify needs an application token: --gotify-token-file, $CREDENTIALS_DIRECTORY/gotify-token or ALERT_GOTIFY_TOKEN"
        )
    }

    /// The token file's flag, else the credential, else the variable; an unusable one names only
    /// where it came from.
    @Test func tokensComeFromTheFlagThenTheCredentialThenTheEnvironment() throws {
        let directory = try TemporaryDirectory()
        _ = try directory.write("from-credential\n", to: "ntfy-token")
        var flags = AlertSettings.Flags()
        flags[NtfyProvider.topicOption] = "t"
        func authorization(_ variables: [String: String]) throws -> String? {
            headers(NtfyProvider.self, in: try resolve(variables, flags))?["Authorization"]
        }
        #expect(try authorization(["ALERT_NTFY_TOKEN": "from-env"]) == "Bearer from-env")
        #expect(
            try authorization(["CREDENTIALS_DIRECTORY": directory.path, "ALERT_NTFY_TOKEN": "from-env"])
                == "Bearer from-credential")
        flags[NtfyProvider.tokenFileOption] = try directory.write("from-file", to: "token")
        #expect(try authorization(["CREDENTIALS_DIRECTORY": directory.path]) == "Bearer from-file")
        flags[NtfyProvider.tokenFileOption] = try directory.write(" \n", to: "blank")
        let error = try #require(throws: ConfigurationError.self) { try resolve([:], flags) }
        #expect(error.message == "--ntfy-token-file: the token is empty")
        flags[NtfyProvider.tokenFileOption] = nil
        let variable = try #require(throws: ConfigurationError.self) {
            try resolve(["HERMES_ALERT_NTFY_TOKEN": "two words"], flags)
        }
        #expect(
            variable.message
                == "HERMES_ALERT_NTFY_TOKEN: the token contains spaces, line breaks or other unusable characters")
    }
}
