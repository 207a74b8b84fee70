import Foundation
import HermesCore
import HermesTestSupport
import Testing

/// Responsiveness against a physical truth: a real shaped link (tbf in network namespaces) whose
/// queue is made deep (300 ms) or shallow (50 ms). While iperf3 saturates the download, `ping`
/// from the client measures the loaded round trip independently; hermes-measure's self probes
/// must read it within 15 % (or 3 ms), its RPM must fall in the band that round trip implies, and
/// the shallow queue's RPM must be at least four times the deep one's. Needs root; timing-
/// sensitive, so scripts/test runs it alone.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root for network namespaces and tc; CI runs it as root"))
struct ResponsivenessLinkTests {
    /// The draft's bands: poor < 300 RPM, fair < 1000, good < 6000, excellent.
    static func band(_ rpm: Double) -> String {
        rpm < 300 ? "poor" : rpm < 1000 ? "fair" : rpm < 6000 ? "good" : "excellent"
    }

    struct Reading {
        var pingMilliseconds: Double
        var selfMilliseconds: Double
        var rpm: Double
        var confidence: String
    }

    @Test(arguments: [20, 100])
    func selfProbesReadTheQueueThatPingReads(megabits: Int) throws {
        let link = try ShapedLink(
            name: "hm\(getpid() % 100_000)q\(megabits)", megabits: megabits, subnet: 40 + megabits)
        defer { link.remove() }
        let target = try BackgroundProcess(
            link.inServer,
            link.serverArguments + [
                try Executable.named("hermes-target").url.path, "--listen", "\(link.serverAddress):8080",
            ])
        defer { target.stop() }
        try #require(
            target.waitForOutput(containing: "listening", timeout: .seconds(10)) != nil, "\(target.outputText)")

        var readings: [Int: Reading] = [:]
        for queue in [300, 50] {
            try link.script("queue", ["\(megabits)", "\(queue)"])
            let ping = try loadedPing(link)
            let state = try TemporaryDirectory()
            let run = try ChildProcess.run(
                link.inClient,
                link.clientArguments + [
                    try Executable.named("hermes-measure").url.path, "--server", "http://\(link.serverAddress):8080",
                    "--state-directory", state.path, "--no-upload", "--duration", "3s", "--responsiveness",
                    "--responsiveness-interval", "1s", "--responsiveness-duration", "12s",
                ],
                timeout: .seconds(90))
            try #require(run.status == 0, "\(run.stderr)")
            let record = try #require(
                try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
            let rpm = try #require(record["download_responsiveness_rpm"] as? Double, "\(record)")
            let selfProbes = try #require(Self.selfProbeMilliseconds(run.stderr), "\(run.stderr)")
            readings[queue] = Reading(
                pingMilliseconds: ping, selfMilliseconds: selfProbes, rpm: rpm,
                confidence: record["responsiveness_confidence"] as? String ?? "")
            let context =
                "\(megabits) Mbit/s, \(queue) ms queue: ping \(ping) ms, self probes \(selfProbes) ms, \(rpm) RPM"
            #expect(abs(selfProbes - ping) <= max(ping * 0.15, 3), "\(context)")
            #expect(Self.band(rpm) == Self.band(60000 / ping), "\(context)")
        }
        let deep = try #require(readings[300])
        let shallow = try #require(readings[50])
        #expect(
            shallow.rpm >= 4 * deep.rpm,
            "\(megabits) Mbit/s: \(shallow.rpm) RPM with a 50 ms queue, \(deep.rpm) with 300 ms")
    }

    /// The median of 25 pings, 200 ms apart, from the client while iperf3 (4 streams) saturates the
    /// download: the loaded round trip, measured by something other than hermes-measure.
    private func loadedPing(_ link: ShapedLink) throws -> Double {
        let iperf3 = try #require(ChildProcess.installed("iperf3"), "iperf3 is not installed")
        let ping = try #require(ChildProcess.installed("ping"), "ping is not installed")
        let server = try BackgroundProcess(
            link.inServer, link.serverArguments + [iperf3, "-s", "-1", "--forceflush", "-B", link.serverAddress])
        defer { server.stop() }
        try #require(
            server.waitForOutput(containing: "listening", timeout: .seconds(10)) != nil, "\(server.outputText)")
        let load = try BackgroundProcess(
            link.inClient, link.clientArguments + [iperf3, "-c", link.serverAddress, "-R", "-P", "4", "-t", "9"])
        defer { load.stop() }
        // Three seconds for the queue to fill, then five of pings.
        usleep(3_000_000)
        let run = try ChildProcess.run(
            link.inClient, link.clientArguments + [ping, "-n", "-i", "0.2", "-c", "25", link.serverAddress],
            timeout: .seconds(30))
        try #require(run.status == 0, "ping: \(run.stderr) \(run.stdout)")
        let times = run.stdout.split(separator: "\n").compactMap { line -> Double? in
            guard let range = line.range(of: "time=") else { return nil }
            return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
        }.sorted()
        try #require(times.count >= 20, "\(run.stdout)")
        return times[times.count / 2]
    }

    /// "self probes X ms" of hermes-measure's responsiveness line.
    static func selfProbeMilliseconds(_ stderr: String) -> Double? {
        guard let range = stderr.range(of: "self probes ") else { return nil }
        return Double(stderr[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }
}
