import Foundation
import HermesTestSupport
import Testing

/// Every writer on a file system that fills up or turns read-only (an SD card's two ways of
/// failing): the documented status (73/74), the file named and what to do about it, no temporary
/// file left, what was there before intact; with room again, the next run works as always.
/// Needs root to mount a small tmpfs; CI runs as root.
@Suite(.serialized, .enabled(if: getuid() == 0, "mounting a small tmpfs needs root (CI runs as root)"))
struct FullDiskTests {
    /// A 256 KiB tmpfs with `prepare` run on it, then filled to the brim.
    final class SmallDisk {
        let directory: TemporaryDirectory
        let path: String

        init() throws {
            directory = try TemporaryDirectory()
            path = directory.file("disk")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let mounted = try ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", path])
            try #require(mounted.status == 0, "\(mounted.stderr)")
        }

        func file(_ name: String) -> String { path + "/" + name }

        /// Takes every free block, then gives `room` bytes back.
        func fill(leaving room: Int = 0) throws {
            _ = try ChildProcess.run("/bin/dd", ["if=/dev/zero", "of=\(file(".filler"))", "bs=4k", "count=100000"])
            if room > 0 { _ = try ChildProcess.run("/usr/bin/truncate", ["-s", "-\(room)", file(".filler")]) }
        }

        func free() throws { try FileManager.default.removeItem(atPath: file(".filler")) }

        func remount(readOnly: Bool) throws {
            let outcome = try ChildProcess.run("/bin/mount", ["-o", "remount,\(readOnly ? "ro" : "rw")", path])
            try #require(outcome.status == 0, "\(outcome.stderr)")
        }

        /// Temporary files a writer left behind.
        var leftovers: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.contains(".tmp") }
        }

        deinit { _ = try? ChildProcess.run("/bin/umount", ["-l", path]) }
    }

    static let failure =
        #"{"v":1,"type":"failure","timestamp":"2026-05-01T13:00:00.000Z","error":"could not connect","error_kind":"connect"}"#

    @Test func hermesExportKeepsTheLastGoodTextfileAndItsSpool() throws {
        let disk = try SmallDisk()
        let textfile = disk.file("hermes.prom")
        let arguments = ["--textfile", textfile, "--spool", disk.file("spool"), "--loki", "http://127.0.0.1:9"]
        let good = try Executable.named("hermes-export").run(
            arguments + ["--loki-retries", "0"], stdin: resultLine(1) + "\n")
        try #require(good.status == 0, "\(good.stderr)")
        let before = try String(contentsOfFile: textfile, encoding: .utf8)
        try disk.fill()
        let full = try Executable.named("hermes-export").run(
            arguments + ["--loki-retries", "0"], stdin: Self.failure + "\n")
        #expect([73, 74].contains(full.status), "\(full.stderr)")
        #expect(
            full.stderr.contains(disk.path) && full.stderr.contains("free space on that file system"), "\(full.stderr)")
        #expect(try String(contentsOfFile: textfile, encoding: .utf8) == before, "the last good textfile")
        #expect(disk.leftovers.isEmpty, "\(disk.leftovers)")
        try disk.free()
        let again = try Executable.named("hermes-export").run(
            arguments + ["--loki-retries", "0"], stdin: Self.failure + "\n")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try String(contentsOfFile: textfile, encoding: .utf8).contains("\nhermes_last_run_success 0\n"))

        try disk.remount(readOnly: true)
        let readOnly = try Executable.named("hermes-export").run(
            arguments + ["--loki-retries", "0"], stdin: resultLine(2) + "\n")
        #expect([73, 74].contains(readOnly.status), "\(readOnly.stderr)")
        #expect(readOnly.stderr.contains("read-only"), "\(readOnly.stderr)")
        try disk.remount(readOnly: false)
    }

    @Test func hermesAlertKeepsItsLastState() throws {
        let disk = try SmallDisk()
        let server = try TestServer.start { _ in .ok("{}") }
        defer { server.stop() }
        let state = disk.file("alert-state.json")
        let arguments = [
            "--state", state, "--webhook-url", server.baseURL, "--allow-private-targets", "--failure-threshold", "3",
        ]
        let first = try Executable.named("hermes-alert").run(arguments, stdin: Self.failure + "\n")
        try #require(first.status == 0, "\(first.stderr)")
        let before = try String(contentsOfFile: state, encoding: .utf8)
        try disk.fill()
        let full = try Executable.named("hermes-alert").run(arguments, stdin: Self.failure + "\n")
        #expect([73, 74].contains(full.status), "\(full.stderr)")
        #expect(full.stderr.contains(state) && full.stderr.contains("free space on that file system"), "\(full.stderr)")
        #expect(try String(contentsOfFile: state, encoding: .utf8) == before, "the last good state")
        #expect(disk.leftovers.isEmpty, "\(disk.leftovers)")
        try disk.free()
        let later = Self.failure.replacingOccurrences(of: "13:00:00", with: "14:00:00")
        let again = try Executable.named("hermes-alert").run(arguments, stdin: later + "\n")
        #expect(again.status == 0, "\(again.stderr)")
        let status = try Executable.named("hermes-alert").run(["status", "--state", state])
        #expect(
            status.stdout.contains("consecutive failures: 2"),
            "the failure the full disk lost is not counted: \(status.stdout)")
    }

    @Test func hermesReportKeepsTheOldPage() throws {
        let disk = try SmallDisk()
        let page = disk.file("report.html")
        let records = (1...20).map { resultLine($0) }.joined(separator: "\n") + "\n"
        let first = try Executable.named("hermes-report").run(["--output", page], stdin: records)
        try #require(first.status == 0, "\(first.stderr)")
        let before = try Data(contentsOf: URL(fileURLWithPath: page))
        try disk.fill(leaving: 4096)
        let full = try Executable.named("hermes-report").run(["--output", page], stdin: records)
        #expect([73, 74].contains(full.status), "\(full.stderr)")
        #expect(full.stderr.contains("free space on that file system"), "\(full.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: page)) == before, "the old page stays")
        #expect(disk.leftovers.isEmpty, "\(disk.leftovers)")
    }
}
