import HermesAlert
import HermesCore
import HermesHTTP
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
}
