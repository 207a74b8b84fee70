import Foundation
import HermesCore
import HermesTestSupport
import Testing

/// hermes-measure across a real shaped link (two network namespaces, a veth pair, tc tbf each
/// way) against hermes-target, compared with iperf3's TCP goodput on the same link in the same
/// test. Needs root, which CI has. scripts/test runs it before the rest of the suite, one test at
/// a time: the whole suite saturates both cores, which slows iperf3 and hermes-measure unequally.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root for network namespaces and tc; CI runs it as root"))
struct ShapedLinkTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    @Test(arguments: [20, 100])
    func resultsMatchTheLinksGoodputWithinThreePercent(megabits: Int) throws {
        let link = try ShapedLink(name: "hm\(getpid() % 100_000)r\(megabits)", megabits: megabits, subnet: megabits)
        defer { link.remove() }

        // iperf3 runs before and after hermes-measure, and its better reading is the link's
        // goodput: anything else on the host can only slow a TCP transfer down, never speed it up.
        var iperfDownload = try link.iperf3Goodput(reverse: true)
        var iperfUpload = try link.iperf3Goodput(reverse: false)

        let target = try link.startTarget()
        defer { target.stop() }
        let state = try TemporaryDirectory()
        let run = try ChildProcess.run(
            link.inClient,
            link.clientArguments + [
                try Executable.named("hermes-measure").url.path, "--server", "http://\(link.serverAddress):8080",
                "--state-directory", state.path, "--no-responsiveness",
            ],
            timeout: .seconds(90))
        #expect(run.status == 0, "\(run.stderr)")
        let value = try JSONParser.parse(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        guard case .record(.result(let result)) = try RecordDecoder.decode(value) else {
            Issue.record("not a result: \(run.stdout)")
            return
        }
        let download = try #require(result.downloadMbps)
        let upload = try #require(result.uploadMbps)
        target.stop()
        iperfDownload = max(iperfDownload, try link.iperf3Goodput(reverse: true))
        iperfUpload = max(iperfUpload, try link.iperf3Goodput(reverse: false))
        #expect(
            abs(download - iperfDownload) <= iperfDownload * 0.03,
            "download \(download) Mbit/s, iperf3 \(iperfDownload) on a \(megabits) Mbit/s link")
        #expect(
            abs(upload - iperfUpload) <= iperfUpload * 0.03,
            "upload \(upload) Mbit/s, iperf3 \(iperfUpload) on a \(megabits) Mbit/s link")
        #expect(result.extensions.clientIP == link.clientAddress)
    }
}

struct SetupFailed: Error, CustomStringConvertible {
    let description: String
}

/// A link made by `scripts/lib/shaped-link`, removed (only what it made) by `remove()`.
struct ShapedLink {
    let name: String
    let serverAddress: String
    let clientAddress: String
    private let script = ShapedLinkTests.repository + "/scripts/lib/shaped-link"
    let inServer = "/usr/sbin/ip"
    var clientArguments: [String] { ["netns", "exec", "\(name)-cli"] }
    var serverArguments: [String] { ["netns", "exec", "\(name)-srv"] }
    var inClient: String { inServer }

    init(name: String, megabits: Int, subnet: Int) throws {
        self.name = name
        let created = try ChildProcess.run(script, ["up", name, "\(megabits)", "77.\(subnet % 250)"])
        guard created.status == 0 else {
            _ = try? ChildProcess.run(script, ["down", name])
            throw SetupFailed(description: "shaped-link up failed: \(created.stderr)")
        }
        serverAddress = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        clientAddress = String(serverAddress.dropLast()) + "2"
    }

    /// A bufferbloated access link: the two ends joined through a router namespace whose egress
    /// each way is tbf at `megabits` with a queue of `queue` milliseconds (`shaped-link router`).
    init(routedNamed name: String, megabits: Int, queue: Int, subnet: Int) throws {
        self.name = name
        let created = try ChildProcess.run(script, ["router", name, "\(megabits)", "\(queue)", "77.\(subnet % 250)"])
        guard created.status == 0 else {
            _ = try? ChildProcess.run(script, ["down", name])
            throw SetupFailed(description: "shaped-link router failed: \(created.stderr)")
        }
        serverAddress = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        clientAddress = String(serverAddress.dropLast()) + "130"
    }

    /// hermes-target in the server's namespace on its address, port 8080, once it listens.
    func startTarget() throws -> BackgroundProcess {
        let target = try BackgroundProcess(
            inServer,
            serverArguments + [try Executable.named("hermes-target").url.path, "--listen", "\(serverAddress):8080"])
        guard target.waitForOutput(containing: "listening", timeout: .seconds(10)) != nil else {
            target.stop()
            throw SetupFailed(description: "hermes-target did not start: \(target.outputText)")
        }
        return target
    }

    func remove() {
        let removed = try? ChildProcess.run(script, ["down", name])
        if removed?.status != 0 { Issue.record("shaped-link down \(name) failed: \(removed?.stderr ?? "")") }
    }

    /// Runs `scripts/lib/shaped-link` with `arguments` after the command and this link's name;
    /// its output line.
    @discardableResult
    func script(_ command: String, _ arguments: [String]) throws -> String {
        let run = try ChildProcess.run(script, [command, name] + arguments)
        guard run.status == 0 else { throw SetupFailed(description: "shaped-link \(command) failed: \(run.stderr)") }
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// iperf3's received goodput in Mbit/s over 5 s after a 1 s warm-up; `reverse` measures
    /// server to client (download). To `address` (the first link's server address by default),
    /// bound to the client's `device` when one is named, as `--interface` binds.
    func iperf3Goodput(reverse: Bool, to address: String? = nil, device: String? = nil) throws -> Double {
        let iperf3 = try #require(ChildProcess.installed("iperf3"), "iperf3 is not installed")
        let address = address ?? serverAddress
        let server = try BackgroundProcess(
            inServer, serverArguments + [iperf3, "-s", "-1", "--forceflush", "-B", address])
        defer { server.stop() }
        try #require(
            server.waitForOutput(containing: "listening", timeout: .seconds(10)) != nil, "\(server.outputText)")
        let run = try ChildProcess.run(
            inClient,
            clientArguments + [iperf3, "-c", address, "-t", "5", "-O", "1", "-J"] + (reverse ? ["-R"] : [])
                + (device.map { ["--bind-dev", $0] } ?? []),
            timeout: .seconds(30))
        try #require(run.status == 0, "iperf3: \(run.stderr) \(run.stdout.prefix(500))")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let end = try #require(report["end"] as? [String: Any])
        let received = try #require(end["sum_received"] as? [String: Any])
        return try #require(received["bits_per_second"] as? Double) / 1e6
    }
}
