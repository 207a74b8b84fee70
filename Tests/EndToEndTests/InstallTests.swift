import Foundation
import HermesTestSupport
import Testing

/// scripts/install into a staging directory, and scripts/uninstall out of it again.
@Suite struct InstallTests {
    static let tools = [
        "hermes-measure", "hermes-store", "hermes-export", "hermes-alert", "hermes-target", "hermes-report",
    ]

    static func script(_ name: String, _ arguments: [String]) throws -> ProcessOutcome {
        try ChildProcess.run(ManualTests.packageRoot.path + "/scripts/" + name, arguments, timeout: .seconds(120))
    }

    /// Regular files and links below `root`, as paths relative to it.
    static func files(below root: String) -> Set<String> {
        var files: Set<String> = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            if enumerator?.fileAttributes?[.type] as? FileAttributeType != .typeDirectory { files.insert(path) }
        }
        return files
    }

    static func directories(below root: String) -> Set<String> {
        var directories: Set<String> = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            if enumerator?.fileAttributes?[.type] as? FileAttributeType == .typeDirectory { directories.insert(path) }
        }
        return directories
    }

    @Test func installsTheWholeTreeAndUninstallRemovesExactlyIt() throws {
        let binaries = try Executable.binaryDirectory().path
        for tool in Self.tools { _ = try Executable.named(tool) }
        let destdir = try TemporaryDirectory()
        // What was there before must be there after.
        for path in ["usr/bin/other-tool", "usr/share/man/man1/other.1"] {
            try FileManager.default.createDirectory(
                atPath: destdir.file((path as NSString).deletingLastPathComponent), withIntermediateDirectories: true)
            try "keep\n".write(toFile: destdir.file(path), atomically: false, encoding: .utf8)
        }
        let before = (files: Self.files(below: destdir.path), directories: Self.directories(below: destdir.path))

        let install = try Self.script(
            "install", ["--prefix", "/usr", "--destdir", destdir.path, "--bin-dir", binaries])
        try #require(install.status == 0, "scripts/install: \(install.stderr)")

        let manuals = try FileManager.default.contentsOfDirectory(atPath: ManualTests.packageRoot.path + "/man")
            .filter { $0.wholeMatch(of: /[a-z0-9.-]+\.[1-9]/) != nil }
        #expect(manuals.contains("hermes.7") && manuals.contains("hermes-store.1"))
        var expected = before.files.union([
            "usr/lib/systemd/system/hermes.service", "usr/lib/systemd/system/hermes.timer",
            "usr/lib/systemd/system/hermes@.service", "usr/lib/systemd/system/hermes@.timer",
            "usr/lib/systemd/system/hermes-report.service", "usr/lib/systemd/system/hermes-report.timer",
            "usr/lib/systemd/system/hermes-digest.service", "usr/lib/systemd/system/hermes-digest.timer",
            "usr/lib/sysusers.d/hermes.conf", "usr/lib/tmpfiles.d/hermes.conf",
            "usr/share/hermes/hermes.env.example", "usr/share/hermes/hermes-dashboard.json",
            "usr/share/hermes/nginx-hermes-target.conf",
            "usr/share/hermes/installed-files",
        ])
        for tool in Self.tools {
            expected.formUnion([
                "usr/bin/\(tool)", "usr/share/bash-completion/completions/\(tool)",
                "usr/share/zsh/site-functions/_\(tool)", "usr/share/fish/vendor_completions.d/\(tool).fish",
            ])
        }
        for page in manuals { expected.insert("usr/share/man/man\(page.last!)/\(page)") }
        #expect(Self.files(below: destdir.path) == expected)

        for tool in Self.tools {
            let installed = try ChildProcess.run(destdir.file("usr/bin/\(tool)"), ["--version"])
            let built = try ChildProcess.run(binaries + "/" + tool, ["--version"])
            #expect(installed.status == 0 && installed.stdout == built.stdout, "\(tool) --version")
            let bash = destdir.file("usr/share/bash-completion/completions/\(tool)")
            #expect(try String(contentsOfFile: bash, encoding: .utf8).contains(tool))
            #expect(try ChildProcess.run("/bin/bash", ["-n", bash]).status == 0, "\(bash) is not valid bash")
            let zsh = try String(contentsOfFile: destdir.file("usr/share/zsh/site-functions/_\(tool)"), encoding: .utf8)
            #expect(zsh.hasPrefix("#compdef \(tool)"))
            let fish = try String(
                contentsOfFile: destdir.file("usr/share/fish/vendor_completions.d/\(tool).fish"), encoding: .utf8)
            #expect(fish.contains("complete -c '\(tool)'"))
        }
        try checkInstalledUnits(destdir: destdir.path)

        let uninstall = try Self.script("uninstall", ["--prefix", "/usr", "--destdir", destdir.path])
        #expect(uninstall.status == 0, "scripts/uninstall: \(uninstall.stderr)")
        #expect(Self.files(below: destdir.path) == before.files)
        #expect(Self.directories(below: destdir.path) == before.directories)
    }

    /// The installed service runs the installed tools, and systemd-analyze verify accepts both
    /// units with the installed manuals on MANPATH (so every Documentation= page is installed).
    func checkInstalledUnits(destdir: String) throws {
        let service = destdir + "/usr/lib/systemd/system/hermes.service"
        let unit = SystemdUnit(text: try String(contentsOfFile: service, encoding: .utf8))
        let execStart = try #require(unit.values("ExecStart", in: "Service").first)
        let script = try #require(SystemdUnit.bashScript(ofExecStart: execStart, stateRoot: "/var/lib"))
        let programs = script.split(separator: "|").compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(
            programs == ["hermes-measure", "hermes-store", "hermes-export", "hermes-alert"].map { "/usr/bin/" + $0 })
        for program in programs {
            #expect(FileManager.default.isExecutableFile(atPath: destdir + program), "\(program) is not installed")
        }
        let analyze = "/usr/bin/systemd-analyze"
        try #require(
            FileManager.default.isExecutableFile(atPath: analyze),
            "systemd-analyze is missing: apt-get install systemd (scripts/test does this)")
        var environment = ProcessInfo.processInfo.environment
        environment["MANPATH"] = destdir + "/usr/share/man"
        let verify = try ChildProcess.run(
            analyze, ["verify", service, destdir + "/usr/lib/systemd/system/hermes.timer"], environment: environment)
        #expect(verify.status == 0, "systemd-analyze verify: \(verify.stdout)\(verify.stderr)")
    }

    /// A packager's staging directory often does not exist yet (this once looped forever).
    @Test func installsIntoAStagingDirectoryThatDoesNotExistYet() throws {
        let parent = try TemporaryDirectory()
        let destdir = parent.file("stage/root")
        let install = try Self.script(
            "install", ["--destdir", destdir, "--bin-dir", try Executable.binaryDirectory().path])
        try #require(install.status == 0, "scripts/install: \(install.stderr)")
        #expect(FileManager.default.isExecutableFile(atPath: destdir + "/usr/local/bin/hermes-measure"))
        let uninstall = try Self.script("uninstall", ["--destdir", destdir])
        #expect(uninstall.status == 0, "scripts/uninstall: \(uninstall.stderr)")
        #expect(Self.files(below: destdir).isEmpty)
    }

    @Test func uninstallWithoutAnInstallChangesNothing() throws {
        let destdir = try TemporaryDirectory()
        let outcome = try Self.script("uninstall", ["--destdir", destdir.path])
        #expect(outcome.status == 1)
        #expect(
            outcome.stderr.hasPrefix(
                "uninstall: nothing to remove: no manifest at \(destdir.path)/usr/local/share/hermes/installed-files"))
        #expect(Self.files(below: destdir.path).isEmpty)
    }

    @Test(arguments: [
        (["--prefix", "usr/local"], "install: --prefix must be an absolute path, got 'usr/local'"),
        (["--bogus"], "install: unknown argument --bogus"), (["--destdir"], "install: --destdir needs a directory"),
    ])
    func badArgumentsExit64(arguments: [String], message: String) throws {
        let outcome = try Self.script("install", arguments)
        #expect(outcome.status == 64)
        #expect(outcome.stderr.split(separator: "\n").first.map(String.init) == message)
    }
}
