import HermesCore
import HermesHTTP
import HermesTestSupport
import Testing

@testable import HermesMeasure

@Suite struct LatencySummaryTests {
    @Test func medianAndJitterAsTheRecordDefinesThem() throws {
        let summary = try #require(LatencySummary(milliseconds: [10, 12, 11, 30, 11]))
        #expect(summary.medianMilliseconds == 11)
        // |12-10| + |11-12| + |30-11| + |11-30| = 2 + 1 + 19 + 19 = 41, over 4 differences.
        #expect(summary.jitterMilliseconds == 10.25)
        #expect(summary.count == 5)
    }

    @Test func anEvenCountTakesTheMeanOfTheMiddleTwo() throws {
        #expect(LatencySummary(milliseconds: [4, 1, 3, 2])?.medianMilliseconds == 2.5)
    }

    @Test func oneSampleHasNoJitterAndNoneHasNoSummary() {
        #expect(LatencySummary(milliseconds: [7])?.jitterMilliseconds == nil)
        #expect(LatencySummary(milliseconds: []) == nil)
    }
}

@Suite struct ProtocolParsingTests {
    /// Every shape Cloudflare's speed test has sent, read as its own engine reads them: the
    /// request duration when above 0.01 ms, else the sum of the cfSpeed* entries, else none.
    @Test(arguments: [
        ("cfRequestDuration;dur=15.999794", 16_000, "cfRequestDuration"),
        (#"cfRequestDuration;dur=47.999859, cfL4;desc="?proto=TCP&rtt=9805&sent=10""#, 48_000, "cfRequestDuration"),
        (#"cfL4;desc="x", cfRequestDuration;dur=0.021"#, 21, "cfRequestDuration"),
        ("cfRequestDuration; dur=3", 3000, "cfRequestDuration"),
        (
            "cfRequestDuration;dur=0.000000, cfSpeedEdge;dur=2, cfSpeedWorker;dur=21", 23_000,
            "cfSpeedEdge+cfSpeedWorker"
        ),
        (
            #"cfSpeedEdge;dur=4, cfSpeedWorker;dur=28, cfL4;desc="?proto=TCP&rtt=5003""#, 32_000,
            "cfSpeedEdge+cfSpeedWorker"
        ),
        ("cfSpeedEdge;dur=10, cfSpeedWorker;dur=20, cfReqDur;dur=45.5", 45_500, "cfReqDur"),
        (#"cfL4;desc="?proto=TCP&rtt=5003&min_rtt=4257""#, 0, "none"),
        ("cfRequestDuration;dur=-1", 0, "none"),
        ("cfRequestDuration;dur=nan", 0, "none"),
        ("", 0, "none"),
    ])
    func serverTimingGivesTheServersProcessingTime(header: String, microseconds: Int64, source: String) {
        let time = ServerTiming.serverTime(in: header)
        #expect(time == ServerTime(duration: .microseconds(microseconds), source: source))
    }

    /// In mid-2024 the service sent the header twice, differently capitalised: both are read.
    @Test func serverTimingOnTwoHeaderLinesIsReadAsOne() {
        let response = HTTPResponse(
            status: 200,
            headers: HTTPHeaders([
                HTTPHeader(name: "Server-Timing", value: "cfSpeedEdge;dur=3"),
                HTTPHeader(name: "server-timing", value: "cfSpeedWorker;dur=21"),
            ]), displayURL: "http://x/__down?bytes=0")
        let time = CloudflareEndpoints(base: "http://x").serverTime(of: response)
        #expect(time == ServerTime(duration: .milliseconds(24), source: "cfSpeedEdge+cfSpeedWorker"))
    }

    @Test func aLibreSpeedServerListIsRead() throws {
        let list = """
            [{"id":1,"name":"Frankfurt, Germany (Clouvider)","server":"//fra.example.net/backend/",
              "dlURL":"garbage.php","ulURL":"empty.php","pingURL":"empty.php","getIpURL":"getIP.php"},
             {"id":"b","name":"Local","server":"http://10.0.0.2:8080"}]
            """
        let servers = try LibreSpeedServer.parseList(list, source: "list.json")
        #expect(servers.count == 2)
        #expect(servers[0].id == "1")
        #expect(servers[0].base == "https://fra.example.net/backend/")
        let endpoints = LibreSpeedEndpoints(server: servers[0])
        #expect(endpoints.download(upTo: .max).url == "https://fra.example.net/backend/garbage.php?ckSize=100")
        #expect(endpoints.latencyProbe().url == "https://fra.example.net/backend/empty.php")
        #expect(servers[1].base == "http://10.0.0.2:8080/")
        #expect(LibreSpeedEndpoints(server: servers[1]).upload(bytes: 10).url == "http://10.0.0.2:8080/empty")
        #expect(LibreSpeedEndpoints(server: servers[1]).download(upTo: 3_000_000).url.hasSuffix("garbage?ckSize=3"))
    }

    @Test(arguments: ["{}", "[]", "[{\"name\":\"no server\"}]", "not json"])
    func aBadServerListIsAClearFailure(text: String) {
        #expect(throws: MeasureFailure.self) { try LibreSpeedServer.parseList(text, source: "x.json") }
    }

    @Test func getIPIsReadInEachOfItsShapes() {
        let ipinfo =
            #"{"processedString":"203.0.113.9 - Example Fibre, DE (12 km)","rawIspInfo":{"ip":"203.0.113.9","org":"AS64500 Example Fibre GmbH"}}"#
        #expect(LibreSpeedEngine.client(fromGetIP: ipinfo) == ("203.0.113.9", "Example Fibre GmbH"))
        let offline = #"{"processedString":"203.0.113.9 - Example Fibre, DE","rawIspInfo":{"as_name":"EXAMPLE-AS"}}"#
        #expect(LibreSpeedEngine.client(fromGetIP: offline) == ("203.0.113.9", "EXAMPLE-AS"))
        let bare = #"{"processedString":"203.0.113.9 - Example Fibre, DE","rawIspInfo":""}"#
        #expect(LibreSpeedEngine.client(fromGetIP: bare) == ("203.0.113.9", "Example Fibre"))
        let privateRange = #"{"processedString":"192.168.1.5 - private IPv4 access","rawIspInfo":""}"#
        #expect(LibreSpeedEngine.client(fromGetIP: privateRange) == ("192.168.1.5", "private IPv4 access"))
        #expect(LibreSpeedEngine.client(fromGetIP: "nonsense") == (nil, nil))
    }
}

@Suite struct BackoffTests {
    private let now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    @Test func retryAfterIsHonouredAndCapped() {
        let limited = MeasureFailure(.rateLimited, "429", retryAfter: .seconds(120))
        let backoff = RateLimitHold.after(limited, previous: nil, engine: "cloudflare", serverURL: "u", now: now)
        #expect(backoff.notBefore == now.adding(milliseconds: 120_000))
        let huge = MeasureFailure(.rateLimited, "429", retryAfter: .seconds(10 * 86400))
        #expect(
            RateLimitHold.after(huge, previous: nil, engine: "cloudflare", serverURL: "u", now: now).notBefore
                == now.adding(milliseconds: 86_400_000))
    }

    @Test func withoutRetryAfterEachStrikeDoublesTheWaitUpToFourHours() {
        let limited = MeasureFailure(.rateLimited, "limit reached")
        var previous: RateLimitHold?
        var waits: [Int64] = []
        for _ in 0..<6 {
            let backoff = RateLimitHold.after(
                limited, previous: previous, engine: "ookla-cli", serverURL: nil, now: now)
            waits.append((backoff.notBefore.millisecondsSinceEpoch - now.millisecondsSinceEpoch) / 60_000)
            previous = backoff
        }
        #expect(waits == [15, 30, 60, 120, 240, 240])
        // Another service starts over.
        let other = RateLimitHold.after(limited, previous: previous, engine: "cloudflare", serverURL: nil, now: now)
        #expect(other.strikes == 1)
    }

    @Test func itAppliesToItsServiceUntilItsTime() {
        let backoff = RateLimitHold(
            notBefore: now.adding(milliseconds: 1000), engine: "cloudflare", serverURL: "u", strikes: 1, reason: "")
        #expect(backoff.applies(engine: "cloudflare", serverURL: "u", at: now))
        #expect(!backoff.applies(engine: "cloudflare", serverURL: "v", at: now))
        #expect(!backoff.applies(engine: "librespeed", serverURL: "u", at: now))
        #expect(!backoff.applies(engine: "cloudflare", serverURL: "u", at: now.adding(milliseconds: 1000)))
    }

    /// The hold file is read as every state file is (`VersionedState`): damage is told apart
    /// from no file, and a newer format from damage.
    @Test func theFileRoundTripsAndDamageAndNewerFormatsAreToldApart() throws {
        let scratch = try TemporaryDirectory()
        let directory = scratch.path
        let path = directory + "/" + RateLimitHold.fileName
        let backoff = RateLimitHold(
            notBefore: now, engine: "cloudflare", serverURL: nil, strikes: 3, reason: "HTTP 429 \"quoted\"")
        try backoff.save(in: directory)
        #expect(RateLimitHold.read(from: directory) == .hold(backoff))
        try FileSystem.atomicReplace(path, with: Array("{oops".utf8))
        guard case .damaged(let problem) = RateLimitHold.read(from: directory) else {
            Issue.record("damage not reported")
            return
        }
        #expect(problem.hasPrefix("state file \(path) is damaged (invalid JSON"))
        #expect(RateLimitHold.load(from: directory) == nil)
        try FileSystem.atomicReplace(path, with: Array(#"{"v":1,"engine":"cloudflare"}"#.utf8))
        #expect(
            RateLimitHold.read(from: directory)
                == .damaged("state file \(path) is damaged (no valid \"not_before\"); removed, so no back-off holds"))
        try FileSystem.atomicReplace(path, with: Array(#"{"v":2,"not_before":"2030-01-01T00:00:00Z"}"#.utf8))
        #expect(
            RateLimitHold.read(from: directory)
                == .newer(
                    "state file \(path) has format version 2, this hermes-measure reads versions 1 to 1: upgrade hermes-measure or move the file away"
                ))
        try FileSystem.atomicReplace(path, with: [])
        #expect(RateLimitHold.read(from: directory) == .none)
        RateLimitHold.clear(in: directory)
        #expect(RateLimitHold.read(from: directory) == .none)
    }
}

@Suite struct SettingsTests {
    private func resolve(_ variables: [String: String], engine: String? = nil)
        throws(ConfigurationError) -> MeasureSettings
    {
        var flags = MeasureSettings.Flags()
        flags.engine = engine
        return try MeasureSettings.resolve(
            flags, environment: Environment(variables.merging(["HOME": "/home/h"]) { $1 }))
    }

    @Test func theLockGoesToSystemdsRuntimeDirectory() throws {
        let settings = try resolve(["STATE_DIRECTORY": "/var/lib/hermes", "RUNTIME_DIRECTORY": "/run/hermes:/run/x"])
        #expect(settings.stateDirectory == "/var/lib/hermes")
        #expect(settings.lockDirectory == "/run/hermes")
        // A list of nothing but separators is no directory: the state directory serves.
        #expect(try resolve(["RUNTIME_DIRECTORY": ":"]).lockDirectory == "/home/h/.local/state/hermes")
    }

    @Test func flagsWinOverTheEnvironment() throws {
        let settings = try resolve(
            [
                "HERMES_MEASURE_ENGINE": "librespeed", "HERMES_MEASURE_SERVER": "http://nas:8080",
                "HERMES_PROBE": "attic",
            ],
            engine: "cloudflare")
        #expect(settings.engine == .cloudflare)
        #expect(settings.server == "http://nas:8080")
        #expect(settings.probe == "attic")
    }

    @Test(arguments: [
        (["HERMES_MEASURE_ENGINE": "speedof.me"], "HERMES_MEASURE_ENGINE: unknown engine 'speedof.me'"),
        (["HERMES_MEASURE_SERVER": "nas:8080"], "the server must be an http:// or https:// URL"),
        (["HERMES_MEASURE_ENGINE": "librespeed"], "the librespeed engine needs --server URL or --server-list"),
    ])
    func aWrongEnvironmentIsAConfigurationError(variables: [String: String], message: String) {
        #expect {
            _ = try resolve(variables)
        } throws: { error in
            (error as? ConfigurationError)?.message.hasPrefix(message) == true
        }
    }
}

/// The engine is judged the same whether it came from `--engine` or from the environment.
@Suite struct EngineJudgementTests {
    private func problem(engine: String?, environment: [String: String]) -> String? {
        var flags = MeasureSettings.Flags()
        flags.engine = engine
        flags.download = false
        flags.upload = false
        return MeasureSettings.usageProblem(flags, environment: Environment(environment.merging(["HOME": "/h"]) { $1 }))
    }

    @Test func latencyOnlyIsAllowedForTheOoklaCLIFromEitherSource() {
        #expect(problem(engine: "ookla-cli", environment: [:]) == nil)
        #expect(problem(engine: nil, environment: ["HERMES_MEASURE_ENGINE": "ookla-cli"]) == nil)
        #expect(problem(engine: nil, environment: [:]) != nil)
        #expect(problem(engine: "cloudflare", environment: ["HERMES_MEASURE_ENGINE": "ookla-cli"]) != nil)
    }

    @Test func anUnknownEngineIsAConfigurationErrorFromEitherSource() {
        var flags = MeasureSettings.Flags()
        flags.engine = "speedof.me"
        #expect {
            _ = try MeasureSettings.resolve(flags, environment: Environment(["HOME": "/h"]))
        } throws: { error in
            (error as? ConfigurationError)?.message.hasPrefix("--engine: unknown engine 'speedof.me'") == true
        }
    }

    /// Responsiveness is on by default as the parallel test, where the engine has one; a named
    /// mode (flag or variable) is "asked"; the ookla-cli engine has none unless asked.
    @Test func responsivenessIsOnByDefaultWhereTheEngineHasIt() throws {
        let home = Environment(["HOME": "/h"])
        let byDefault = try MeasureSettings.resolve(MeasureSettings.Flags(), environment: home)
        #expect(byDefault.responsiveness == .parallel && !byDefault.responsivenessAsked)
        #expect(byDefault.responsivenessDuration == .seconds(30))
        var flags = MeasureSettings.Flags()
        flags.responsiveness = "sequential"
        let named = try MeasureSettings.resolve(flags, environment: home)
        #expect(named.responsiveness == .sequential && named.responsivenessAsked)
        let variable = try MeasureSettings.resolve(
            MeasureSettings.Flags(), environment: Environment(["HOME": "/h", "HERMES_MEASURE_RESPONSIVENESS": "off"]))
        #expect(variable.responsiveness == .off)
        flags = MeasureSettings.Flags()
        flags.engine = "ookla-cli"
        #expect(try MeasureSettings.resolve(flags, environment: home).responsiveness == .off)
        flags = MeasureSettings.Flags()
        flags.responsiveness = "parallel"
        #expect(try MeasureSettings.resolve(flags, environment: home).responsivenessAsked)
        // An interval longer than the default duration leaves the default test no room: off,
        // but refused when asked for.
        flags = MeasureSettings.Flags()
        flags.responsivenessInterval = .seconds(40)
        #expect(try MeasureSettings.resolve(flags, environment: home).responsiveness == .off)
        flags.responsiveness = "parallel"
        #expect(throws: ConfigurationError.self) { try MeasureSettings.resolve(flags, environment: home) }
        // A byte cap marks a metered link: off unless asked for.
        flags = MeasureSettings.Flags()
        flags.maxBytes = 50_000_000
        #expect(try MeasureSettings.resolve(flags, environment: home).responsiveness == .off)
        flags.responsiveness = "sequential"
        #expect(try MeasureSettings.resolve(flags, environment: home).responsiveness == .sequential)
    }

    @Test func theOoklaCLIGetsItsLongerDeadlineFromEitherSource() throws {
        var flags = MeasureSettings.Flags()
        let environment = Environment(["HOME": "/h", "HERMES_MEASURE_ENGINE": "ookla-cli"])
        #expect(try MeasureSettings.resolve(flags, environment: environment).timeout == .seconds(120))
        flags.timeout = .seconds(5)
        #expect(try MeasureSettings.resolve(flags, environment: environment).timeout == .seconds(5))
        flags = MeasureSettings.Flags()
        flags.engine = "ookla-cli"
        #expect(try MeasureSettings.resolve(flags, environment: Environment(["HOME": "/h"])).timeout == .seconds(120))
        #expect(
            try MeasureSettings.resolve(MeasureSettings.Flags(), environment: Environment(["HOME": "/h"])).timeout
                == .seconds(90), "60 s and the default responsiveness test's 30 s")
    }
}
