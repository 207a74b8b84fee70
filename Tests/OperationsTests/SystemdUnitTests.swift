import Foundation
import HermesTestSupport
import Testing

/// The shipped units, checked by systemd's own tools rather than by reading them back.
@Suite struct SystemdUnitTests {
    let service: SystemdUnit
    let timer: SystemdUnit

    init() throws {
        service = try Repository.unit("hermes.service")
        timer = try Repository.unit("hermes.timer")
    }

    /// `systemd-analyze verify` loads both units as the service manager would (the timer must
    /// find hermes.service next to it) and reports nothing. Manual pages are checked by
    /// `documentationNamesShippedManuals`, since they are not installed here.
    static let allUnits = [
        "hermes.service", "hermes.timer", "hermes-report.service", "hermes-report.timer", "hermes-digest.service",
        "hermes-digest.timer",
    ]

    @Test func unitsVerifyClean() throws {
        let analyze = try systemdTool("systemd-analyze")
        let directory = try TemporaryDirectory()
        let units = try Self.allUnits.map {
            try directory.write(try Repository.text("systemd/" + $0), to: $0)
        }
        let outcome = try ChildProcess.run(analyze, ["verify", "--man=no"] + units, timeout: .seconds(60))
        #expect(outcome.status == 0, "systemd-analyze verify: \(outcome.stderr)")
        #expect(outcome.stderr.isEmpty && outcome.stdout.isEmpty, "\(outcome.stdout)\(outcome.stderr)")
    }

    @Test func documentationNamesShippedManuals() throws {
        let references = try Self.allUnits.flatMap { try Repository.unit($0).words("Documentation", in: "Unit") }
        #expect(references.contains("man:hermes(7)"))
        for reference in references {
            // man:NAME(SECTION)
            let page = try #require(
                reference.wholeMatch(of: /man:([a-z0-9.-]+)\(([1-9])\)/), "not a man: reference: \(reference)")
            let file = "man/\(page.1).\(page.2)"
            #expect(FileManager.default.fileExists(atPath: Repository.root + "/" + file), "\(reference): no \(file)")
        }
    }

    /// The gate of issue 6: an exposure of at most 2.0 by `systemd-analyze security --offline`,
    /// for every service. A bare unit must fail the same gate, or the gate would prove nothing.
    @Test(arguments: ["hermes.service", "hermes-report.service", "hermes-digest.service"])
    func securityExposureIsAtMostTwo(unit: String) throws {
        let analyze = try systemdTool("systemd-analyze")
        let directory = try TemporaryDirectory()
        let hardened = try directory.write(try Repository.text("systemd/" + unit), to: unit)
        let outcome = try ChildProcess.run(analyze, ["security", "--offline=true", "--threshold=20", hardened])
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        let level = try #require(
            outcome.stdout.firstMatch(of: /Overall exposure level for [a-z-]+\.service: ([0-9.]+)/),
            "no overall exposure in: \(outcome.stdout)")
        let exposure = try #require(Double(level.1))
        #expect(exposure <= 2.0)

        let bare = try directory.write("[Service]\nType=oneshot\nExecStart=/bin/true\n", to: "bare.service")
        let ungated = try ChildProcess.run(analyze, ["security", "--offline=true", "--threshold=20", bare])
        #expect(ungated.status != 0, "a bare unit passed the gate: \(ungated.stdout)")
    }

    /// sysusers.d and tmpfiles.d applied to an empty root by systemd's tools give the layout the
    /// service and node_exporter rely on: the hermes account, its 0755 state directory and the
    /// textfile; the installer's link from Debian's textfile directory points at the very file
    /// ExecStart's --textfile names.
    @Test func sysusersAndTmpfilesGiveNodeExporterTheTextfile() throws {
        let sysusers = try systemdTool("systemd-sysusers")
        let tmpfiles = try systemdTool("systemd-tmpfiles")
        let root = try TemporaryDirectory()
        try root.write("", to: "etc/.keep")
        try root.write(try Repository.text("systemd/hermes.sysusers"), to: "usr/lib/sysusers.d/hermes.conf")
        try root.write(try Repository.text("systemd/hermes.tmpfiles"), to: "usr/lib/tmpfiles.d/hermes.conf")
        var outcome = try ChildProcess.run(sysusers, ["--root=\(root.path)"])
        try #require(outcome.status == 0, "systemd-sysusers: \(outcome.stderr)")
        outcome = try ChildProcess.run(tmpfiles, ["--root=\(root.path)", "--create"])
        try #require(outcome.status == 0, "systemd-tmpfiles (needs root to chown): \(outcome.stderr)")

        let passwd = try String(contentsOfFile: root.path + "/etc/passwd", encoding: .utf8)
        let account = try #require(
            passwd.split(separator: "\n").first { $0.hasPrefix("hermes:") }, "no hermes user in \(passwd)")
        let fields = account.split(separator: ":", omittingEmptySubsequences: false)
        let uid = try #require(Int(fields[2]))
        #expect(uid > 0 && uid < 1000, "a system account")
        #expect(fields[5] == "/var/lib/hermes")
        #expect(fields[6].hasSuffix("nologin"))

        let files = FileManager.default
        let state = try files.attributesOfItem(atPath: root.path + "/var/lib/hermes")
        #expect(state[.type] as? FileAttributeType == .typeDirectory)
        #expect(state[.posixPermissions] as? Int == 0o755, "node_exporter's user must be able to enter it")
        #expect((state[.ownerAccountID] as? NSNumber)?.intValue == uid)
        let textfile = try files.attributesOfItem(atPath: root.path + "/var/lib/hermes/hermes.prom")
        #expect(textfile[.posixPermissions] as? Int == 0o644)
        // The link into node_exporter's directory is the installer's (DebianPackageTests boots a
        // real Debian, where systemd-tmpfiles refuses that path): tmpfiles.d must not try it.
        #expect(!FileManager.default.fileExists(atPath: root.path + "/var/lib/prometheus"))
        let postinst = try Repository.text("packaging/debian/hermes.postinst")
        #expect(postinst.contains("ln -s /var/lib/hermes/hermes.prom /var/lib/prometheus/node-exporter/hermes.prom"))
        let link = "/var/lib/prometheus/node-exporter/hermes.prom"

        #expect(service.values("User", in: "Service") == ["hermes"])
        #expect(service.values("StateDirectory", in: "Service") == ["hermes"])
        let execStart = try #require(service.values("ExecStart", in: "Service").first)
        let script = try #require(SystemdUnit.bashScript(ofExecStart: execStart, stateRoot: "/var/lib"))
        #expect(
            postinst.contains("ln -s /var/lib/hermes/hermes.prom \(link)")
                && script.contains("--textfile /var/lib/hermes/hermes.prom "),
            "ExecStart writes the file the link points to")
    }

    @Test func timerRunsEveryHalfHourSpreadAndCatchingUp() throws {
        let analyze = try systemdTool("systemd-analyze")
        let calendar = try #require(timer.values("OnCalendar", in: "Timer").first)
        let outcome = try ChildProcess.run(analyze, ["calendar", calendar])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("Normalized form: *-*-* *:00/30:00"), "\(outcome.stdout)")
        #expect(timer.values("Persistent", in: "Timer") == ["true"])
        #expect(timer.values("FixedRandomDelay", in: "Timer") == ["true"])
        #expect(!timer.values("RandomizedDelaySec", in: "Timer").isEmpty)
        #expect(!timer.values("AccuracySec", in: "Timer").isEmpty)
        #expect(timer.values("WantedBy", in: "Install") == ["timers.target"])
    }

    /// hermes@.service is hermes.service for one link: the same pipeline, hardening, credentials
    /// and account, with the link's environment file (required, read after the shared one), the
    /// link's name as the default HERMES_MEASURE_LINK, a textfile of its own linked into
    /// node_exporter's directory, and the same lock directory, kept while another unit may hold
    /// its lock. An instance verifies clean and passes the same security gate.
    @Test func theTemplateIsTheServiceForOneLink() throws {
        let template = try Repository.unit("hermes@.service")
        let differing: Set<String> = ["Description", "Environment", "EnvironmentFile", "ExecStart", "ExecStartPre"]
        func shared(_ unit: SystemdUnit) -> [SystemdUnit.Entry] { unit.entries.filter { !differing.contains($0.key) } }
        #expect(shared(template) == shared(service), "hermes@.service drifted from hermes.service")
        #expect(
            template.values("EnvironmentFile", in: "Service") == ["-/etc/hermes/hermes.env", "/etc/hermes/%i.env"])
        #expect(template.values("Environment", in: "Service").contains("HERMES_MEASURE_LINK=%i"))
        #expect(template.values("RuntimeDirectoryPreserve", in: "Service") == ["yes"])
        let execStart = try #require(template.values("ExecStart", in: "Service").first)
        let plain = try #require(service.values("ExecStart", in: "Service").first)
        #expect(
            execStart
                == plain.replacingOccurrences(
                    of: "--tee --textfile %S/hermes/hermes.prom",
                    with: "--tee --series-labels --textfile %S/hermes/hermes-%i.prom"))
        let linkCommand = try #require(template.values("ExecStartPre", in: "Service").first)
        #expect(linkCommand.hasPrefix("+/bin/sh -c "))
        #expect(
            linkCommand.contains("ln -sfn %S/hermes/hermes-%i.prom /var/lib/prometheus/node-exporter/hermes-%i.prom"))
        let timer = try Repository.unit("hermes@.timer")
        #expect(
            timer.entries.filter { $0.section != "Unit" } == self.timer.entries.filter { $0.section != "Unit" },
            "hermes@.timer runs on hermes.timer's schedule")

        let analyze = try systemdTool("systemd-analyze")
        let directory = try TemporaryDirectory()
        let instance = try directory.write(try Repository.text("systemd/hermes@.service"), to: "hermes@wan2.service")
        let instanceTimer = try directory.write(try Repository.text("systemd/hermes@.timer"), to: "hermes@wan2.timer")
        let verify = try ChildProcess.run(
            analyze, ["verify", "--man=no", instance, instanceTimer], timeout: .seconds(60))
        #expect(verify.status == 0 && verify.stderr.isEmpty, "systemd-analyze verify: \(verify.stderr)")
        let security = try ChildProcess.run(analyze, ["security", "--offline=true", "--threshold=20", instance])
        #expect(security.status == 0, "\(security.stdout)")
    }

    /// The pipeline ExecStart runs: the four tools in order, under pipefail, alerting optional.
    @Test func execStartIsThePipelineUnderPipefail() throws {
        let execStart = try #require(service.values("ExecStart", in: "Service").first)
        let script = try #require(
            SystemdUnit.bashScript(ofExecStart: execStart, stateRoot: "/var/lib"),
            "ExecStart is not \(SystemdUnit.bashPrefix)...': \(execStart)")
        let stages = script.split(separator: "|").map { $0.split(separator: " ").map(String.init) }
        #expect(
            stages.map { $0.first ?? "" }.map { ($0 as NSString).lastPathComponent } == [
                "hermes-measure", "hermes-store", "hermes-export", "hermes-alert",
            ])
        #expect(stages.allSatisfy { $0.first?.hasPrefix("/usr/local/bin/") == true }, "scripts/install rewrites these")
        #expect(stages[1].contains("--tee") && stages[2].contains("--tee"))
        #expect(stages[3].contains("--if-configured"))
        #expect(service.values("Type", in: "Service") == ["oneshot"])
        #expect(service.values("SuccessExitStatus", in: "Service") == ["1"])
        #expect(!service.values("TimeoutStartSec", in: "Service").isEmpty)
        #expect(service.words("Wants", in: "Unit").contains("network-online.target"))
        #expect(service.words("After", in: "Unit").contains("network-online.target"))
    }

    /// Every credential the tools look for in $CREDENTIALS_DIRECTORY is loaded by the unit, and
    /// nothing else, each from /etc/credstore/hermes.<name>.
    @Test func credentialsAreTheOnesTheToolsRead() throws {
        var read: Set<String> = []
        for source in try Repository.sources() {
            for match in source.matches(of: /credential: "([a-z0-9-]+)"/) { read.insert(String(match.1)) }
            // A push receiver's pair: Credentials(token: "...", password: "...").
            for match in source.matches(of: /Credentials\(token: "([a-z0-9-]+)", password: "([a-z0-9-]+)"\)/) {
                read.formUnion([String(match.1), String(match.2)])
            }
        }
        #expect(
            read.isSuperset(of: [
                "ntfy-token", "gotify-token", "loki-password", "loki-token", "remote-write-password",
                "remote-write-token",
            ]))
        var loaded: Set<String> = []
        for value in service.values("LoadCredential", in: "Service") {
            let parts = value.split(separator: ":").map(String.init)
            #expect(parts.count == 2 && parts[1] == "hermes." + parts[0], "\(value)")
            loaded.insert(parts[0])
        }
        #expect(loaded == read)
    }

    /// Every variable the example environment file mentions is one some tool reads.
    @Test func environmentExampleNamesOnlyVariablesTheToolsRead() throws {
        let example = try Repository.text("systemd/hermes.env.example")
        let names = example.matches(of: /(?m)^#?([A-Z][A-Z0-9_]*)=/).map { String($0.1) }
        #expect(names.count > 20)
        let sources = try Repository.sources().joined()
        let unread = names.filter { !sources.contains("\"\($0)\"") }
        #expect(unread.isEmpty, "hermes.env.example names variables no tool in Sources/ reads: \(unread)")
        #expect(service.values("EnvironmentFile", in: "Service") == ["-/etc/hermes/hermes.env"])
    }

    /// The example, which the package installs as /etc/hermes/hermes.env, names every variable the
    /// tools read (each commented out, so the defaults hold until the admin sets one); only what
    /// systemd or the shell sets is left out.
    @Test func environmentExampleNamesEveryVariableTheToolsRead() throws {
        let example = try Repository.text("systemd/hermes.env.example")
        #expect(
            example.split(separator: "\n").allSatisfy { $0.hasPrefix("#") || $0.allSatisfy(\.isWhitespace) },
            "every line is a comment")
        let sources = try Repository.sources().joined()
        let read = Set(
            sources.matches(of: /"((?:HERMES|ALERT|LOKI|SQLITE|CSV)_[A-Z0-9_]+)"/).map { String($0.1) })
        #expect(read.count > 40)
        let missing = read.filter { !example.contains("#\($0)=") }.sorted()
        #expect(missing.isEmpty, "hermes.env.example does not mention \(missing)")
    }
}

/// One version: the tools print it, CHANGELOG.md's newest entry names it, and scripts/package
/// (which refuses to build otherwise) makes the package's version and changelog from the two.
@Suite struct VersionTests {
    @Test func theChangelogsNewestEntryIsTheVersionTheToolsPrint() throws {
        let source = try Repository.text("Sources/HermesCore/Version.swift")
        let version = try #require(source.firstMatch(of: /static let current = "([^"]+)"/).map { String($0.1) })
        let changelog = try Repository.text("CHANGELOG.md")
        let newest = try #require(changelog.firstMatch(of: /(?m)^## (\S+) — (\d{4}-\d{2}-\d{2})$/))
        #expect(String(newest.1) == version, "CHANGELOG.md's newest entry must be \(version)")
        let package = try Repository.text("scripts/package")
        #expect(package.contains("Sources/HermesCore/Version.swift") && package.contains("CHANGELOG.md"))
    }
}
