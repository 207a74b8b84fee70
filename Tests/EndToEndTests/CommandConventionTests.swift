import Foundation
import HermesTestSupport
import Testing

/// What every tool does alike because HermesCLI does it once: the piped-input check, the tool's
/// name on its diagnostics, and one duration syntax.
@Suite struct CommandConventionTests {
    @Test(arguments: [
        ("hermes-store", ["--sqlite", "/nonexistent/h.db"]), ("hermes-export", ["--prometheus"]),
        ("hermes-report", ["--format", "text"]), ("hermes-alert", ["send", "--webhook-url", "http://127.0.0.1:9/x"]),
        ("hermes-alert", ["--webhook-url", "http://127.0.0.1:9/x"]),
    ])
    func aTerminalOnStandardInputGetsAHintNotAHang(tool: String, arguments: [String]) throws {
        let executable = try Executable.named(tool)
        // script(1) gives the child a pseudo-terminal as standard input.
        let outcome = try ChildProcess.run(
            "/usr/bin/script", ["-qec", ([executable.url.path] + arguments).joined(separator: " "), "/dev/null"],
            timeout: .seconds(30))
        #expect(outcome.status == 64, "\(outcome.stdout)")
        #expect(
            outcome.stdout.contains(
                "\(tool): standard input is a terminal; pipe records in, e.g. hermes-measure | \(tool)"))
    }

    /// Each duration flag takes the common spellings, and says so in its help.
    @Test(arguments: [
        ("hermes-measure", "--timeout"), ("hermes-measure", "--duration"), ("hermes-measure", "--lock-wait"),
        ("hermes-export", "--loki-timeout"), ("hermes-alert", "--timeout"), ("hermes-alert", "--cooldown"),
        ("hermes-target", "--delay"), ("hermes-target", "--bufferbloat"), ("hermes-target", "--retry-after"),
    ])
    func durationFlagsShowOneValueName(tool: String, flag: String) throws {
        let help = try Executable.named(tool).run(["--help"]).stdout
        #expect(help.contains("\(flag) <duration>"), "\(tool) --help: \(help)")
    }

    @Test(arguments: [
        ["--timeout", "1m30s"], ["--timeout", "90"], ["--lock-wait", "500ms"], ["--duration", "1.5s"],
    ])
    func hermesMeasureTakesEverySpelling(arguments: [String]) throws {
        // Past parsing and validation, the run stops at the configuration (78): no network is used.
        let outcome = try Executable.named("hermes-measure").run(
            arguments + ["--engine", "librespeed"], environment: ["HOME": "/nonexistent"])
        #expect(outcome.status == 78, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("hermes-measure: the librespeed engine needs --server"))
    }

    @Test func aBadDurationNamesTheFlagAndExits64() throws {
        let outcome = try Executable.named("hermes-export").run(["--prometheus", "--loki-timeout", "soon"])
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("--loki-timeout"))
    }
}
