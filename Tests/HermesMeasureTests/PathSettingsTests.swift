import HermesCore
import HermesHTTP
import HermesMeasure
import HermesTarget
import HermesTestSupport
import Testing

/// Several servers in one run, and the path settings: what the flags and variables resolve to, the
/// run-wide deadline, and `--each` of a server list.
@Suite struct PathSettingsTests {
    func resolve(_ flags: MeasureSettings.Flags, _ variables: [String: String]) throws(ConfigurationError)
        -> MeasureSettings
    {
        try MeasureSettings.resolve(flags, environment: Environment(variables.merging(["HOME": "/tmp"]) { $1 }))
    }

    func resolve(_ variables: [String: String]) throws(ConfigurationError) -> MeasureSettings {
        try resolve(MeasureSettings.Flags(), variables)
    }

    @Test func theServerVariableNamesSeveralServersInOrder() throws {
        let settings = try resolve(["HERMES_MEASURE_SERVER": "http://a.example:8080, https://b.example/,http://c"])
        #expect(settings.servers == ["http://a.example:8080", "https://b.example/", "http://c"])
        #expect(settings.targets.map(\.server) == ["http://a.example:8080", "https://b.example/", "http://c"])
        #expect(settings.runDeadline(servers: 3) == settings.timeout * 3)
        var flags = MeasureSettings.Flags()
        flags.servers = ["http://only.example"]
        #expect(try resolve(flags, ["HERMES_MEASURE_SERVER": "http://a,http://b"]).servers == ["http://only.example"])
    }

    @Test(arguments: [
        (["HERMES_MEASURE_SERVER": "http://a,http://a"], "named twice"),
        (["HERMES_MEASURE_SERVER": "http://a,,http://b"], "must not be empty"),
        (["HERMES_MEASURE_SERVER": "http://a,ftp://b"], "http:// or https://"),
        (["HERMES_MEASURE_IP_VERSION": "5"], "HERMES_MEASURE_IP_VERSION: expected 4 or 6, got '5'"),
        (["HERMES_MEASURE_IP_VERSION": "6", "HERMES_MEASURE_ENGINE": "ookla-cli"], "cannot be held to one address"),
    ])
    func badPathSettingsAreConfigurationErrors(variables: [String: String], message: String) {
        #expect {
            _ = try resolve(variables)
        } throws: { error in
            (error as? ConfigurationError)?.message.contains(message) == true
        }
    }

    @Test func thePathComesFromFlagsThenVariables() throws {
        let fromVariables = try resolve([
            "HERMES_MEASURE_INTERFACE": "wan2", "HERMES_MEASURE_IP_VERSION": "6", "HERMES_MEASURE_LINK": "lte",
        ])
        #expect(fromVariables.interface == "wan2" && fromVariables.family.name == "IPv6")
        #expect(fromVariables.linkName == "lte")
        var flags = MeasureSettings.Flags()
        flags.interface = "eth1"
        flags.ipVersion = 4
        let fromFlags = try resolve(flags, ["HERMES_MEASURE_INTERFACE": "wan2", "HERMES_MEASURE_IP_VERSION": "6"])
        #expect(fromFlags.interface == "eth1" && fromFlags.family.name == "IPv4")
        #expect(fromFlags.linkName == "eth1", "the link defaults to the interface")
        #expect(try resolve([:]).linkName == nil)
    }

    /// `--ca-file`, else `HERMES_MEASURE_CA_FILE`, reaches every request through the route; a
    /// file that cannot be read, or one given to the ookla-cli engine, is refused by name.
    @Test func theCAFileComesFromTheFlagThenTheVariableAndMustBeReadable() throws {
        let scratch = try TemporaryDirectory()
        let bundle = scratch.file("ca.pem")
        let other = scratch.file("other.pem")
        for file in [bundle, other] { try "".write(toFile: file, atomically: false, encoding: .utf8) }
        #expect(try resolve([:]).route.caFile == nil)
        #expect(try resolve(["HERMES_MEASURE_CA_FILE": ""]).route.caFile == nil, "empty is unset")
        #expect(try resolve(["HERMES_MEASURE_CA_FILE": bundle]).route.caFile == bundle)
        var flags = MeasureSettings.Flags()
        flags.caFile = other
        #expect(try resolve(flags, ["HERMES_MEASURE_CA_FILE": bundle]).route.caFile == other)

        flags.caFile = scratch.file("missing.pem")
        #expect {
            try resolve(flags, [:])
        } throws: { error in
            (error as? ConfigurationError)?.message
                == "--ca-file: cannot read \(scratch.file("missing.pem")): No such file or directory"
        }
        #expect {
            try resolve(["HERMES_MEASURE_CA_FILE": scratch.file("gone.pem")])
        } throws: { error in
            (error as? ConfigurationError)?.message.hasPrefix("HERMES_MEASURE_CA_FILE: cannot read") == true
        }
        flags.caFile = scratch.path
        #expect {
            try resolve(flags, [:])
        } throws: { error in
            (error as? ConfigurationError)?.message == "--ca-file: \(scratch.path) is not a file of PEM certificates"
        }
        flags.caFile = bundle
        flags.engine = "ookla-cli"
        #expect {
            try resolve(flags, [:])
        } throws: { error in
            (error as? ConfigurationError)?.message == "the ookla-cli engine cannot be given a CA file (--ca-file)"
        }
    }

    /// --deadline bounds the run: a server that would take longer is cut at it, and one whose turn
    /// comes after it is a failure saying it was not tested; the records stay in order.
    @Test func theRunDeadlineCutsTheRunAndSaysWhatWasNotTested() throws {
        let quick = try startTarget()
        let slow = try startTarget { $0.responseDelay = .seconds(4) }
        let last = try startTarget()
        defer {
            for server in [quick, slow, last] { server.stop() }
        }
        let scratch = try TemporaryDirectory()
        let records = measureAll(
            try settings(in: scratch, server: nil) {
                $0.servers = [quick.baseURL, slow.baseURL, last.baseURL]
                $0.duration = .milliseconds(300)
                $0.maxBytes = 2_000_000
                $0.timeout = .seconds(30)
                $0.deadline = .seconds(2)
            })
        #expect(records.map { $0.values[.serverURL].text } == [quick.baseURL, slow.baseURL, last.baseURL])
        #expect(records.map(\.kind) == [.result, .failure, .failure])
        #expect(records[1].failure?.errorKind == .timeout)
        #expect(records[2].failure?.errorKind == .timeout)
        #expect(records[2].failure?.error.hasPrefix("not tested: the run's deadline (--deadline 2 s) passed") == true)
    }

    /// --each measures every server of a list, in list order, one record each.
    @Test func eachServerOfAListIsMeasured() throws {
        let first = try startTarget()
        let second = try startTarget()
        defer {
            first.stop()
            second.stop()
        }
        let scratch = try TemporaryDirectory()
        let list = try scratch.write(
            """
            [{"id": 1, "name": "One", "server": "\(first.baseURL)/", "dlURL": "garbage", "ulURL": "empty",
              "pingURL": "empty", "getIpURL": "getIP"},
             {"id": 2, "name": "Two", "server": "\(second.baseURL)/", "dlURL": "garbage", "ulURL": "empty",
              "pingURL": "empty", "getIpURL": "getIP"}]
            """, to: "servers.json")
        let records = measureAll(
            try settings(in: scratch, .librespeed, server: nil) {
                $0.serverList = list
                $0.each = true
                $0.duration = .milliseconds(300)
                $0.maxBytes = 2_000_000
            })
        #expect(records.map(\.kind) == [.result, .result], "\(records)")
        #expect(records.map { $0.values[.serverURL].text } == [first.baseURL + "/", second.baseURL + "/"])
        #expect(records.map { $0.values[.serverName].text } == ["One", "Two"])
    }

    /// Without --deadline, each server of a list read for --each has its own --timeout: three
    /// servers that take more than one timeout together are all measured. Every answer is 400 ms
    /// late and the download paced to 50 Mbit/s runs its whole 1.5 s, so each server takes at least
    /// 3.1 s (3 round trips, getIP, the download) and the three at least 9.3 s, past one 6 s
    /// timeout whatever the host's speed.
    @Test func eachServerOfAListHasItsOwnTimeout() throws {
        let servers = try (0..<3).map { _ in
            try startTarget {
                $0.responseDelay = .milliseconds(400)
                $0.downBytesPerSecond = TargetConfiguration.bytesPerSecond(megabits: 50)
            }
        }
        defer {
            for server in servers { server.stop() }
        }
        let scratch = try TemporaryDirectory()
        let entries = servers.enumerated().map { index, server in
            #"{"id": \#(index), "name": "S\#(index)", "server": "\#(server.baseURL)/", "dlURL": "garbage", "ulURL": "empty", "pingURL": "empty", "getIpURL": "getIP"}"#
        }
        let list = try scratch.write("[" + entries.joined(separator: ",") + "]", to: "servers.json")
        let start = ContinuousClock.now
        let records = measureAll(
            try settings(in: scratch, .librespeed, server: nil) {
                $0.serverList = list
                $0.each = true
                $0.upload = false
                $0.latencySamples = 2
                $0.duration = .milliseconds(1500)
                $0.maxBytes = 50_000_000
                $0.timeout = .seconds(6)
            })
        let took = ContinuousClock.now - start
        #expect(
            records.map(\.kind) == [.result, .result, .result], "\(records.map { $0.values[.error].text ?? "ok" })")
        #expect(took > .seconds(6), "the run must outlast one --timeout to test this: took \(took)")
    }

    /// An interface this host does not have is a connect failure that says what to check, never a
    /// test over another path.
    @Test func aMissingInterfaceSaysToCheckIt() throws {
        let target = try startTarget()
        defer { target.stop() }
        let scratch = try TemporaryDirectory()
        let record = measure(try settings(in: scratch, server: target.baseURL) { $0.interface = "nosuch0" })
        let failure = try #require(record.failure, "\(record)")
        #expect(failure.errorKind == .connect)
        #expect(failure.error.contains("'nosuch0'") && failure.error.contains("check --interface"), "\(failure.error)")
        #expect(failure.link == "nosuch0" && failure.interface == "nosuch0")
    }
}
