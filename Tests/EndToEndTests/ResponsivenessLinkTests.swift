import Foundation
import HermesCore
import HermesTestSupport
import Testing

/// Responsiveness against a physical truth: a real bufferbloated access link (a router namespace
/// between client and server, tbf on its egress, reno senders) whose queue is 300 ms (deep),
/// 50 ms or 20 ms (shallow, the shaped links' default). `ping` from the client measures the loaded
/// round trip independently, at the same moments as hermes-measure's responsiveness test and under
/// its load: the queue a loss-based load keeps full depends on its flows, so another tool's load
/// (iperf3's) would be another queue. hermes-measure's self probes must read that ping median
/// within 15 % (or 3 ms) on the deep queues, its RPM must fall in the band the ping implies (or the
/// neighbouring one when that tolerance crosses a band's edge), and the shallow queue's
/// RPM must be at least four times the deep one's. Needs root; timing-sensitive, so scripts/test
/// runs it alone.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root for network namespaces and tc; CI runs it as root"))
struct ResponsivenessLinkTests {
    static func band(_ rpm: Double) -> ResponsivenessBand { ResponsivenessBand(rpm: rpm) }

    /// The bands a round trip implies when the self probes may read it `tolerance` ms long or short:
    /// one band, or two when the ping lies that close to a band's edge (a 200 ms ping is 300 RPM,
    /// the lowest "fair", and a 204 ms reading of it is 294 RPM, "poor").
    /// (A band spans more than a factor of three, so 15 % either side never skips one.)
    static func bands(impliedBy milliseconds: Double, within tolerance: Double) -> Set<ResponsivenessBand> {
        [band(60000 / (milliseconds + tolerance)), band(60000 / max(milliseconds - tolerance, 1))]
    }

    @Test(arguments: [20, 100])
    func selfProbesReadTheQueueThatPingReads(megabits: Int) throws {
        let link = try ShapedLink(
            routedNamed: "hm\(getpid() % 100_000)q\(megabits)", megabits: megabits, queue: 300, subnet: 40 + megabits)
        defer { link.remove() }
        let target = try link.startTarget()
        defer { target.stop() }
        let pingPath = try #require(ChildProcess.installed("ping"), "ping is not installed")

        var rpms: [Int: Double] = [:]
        for queue in [300, 50, 20] {
            try link.script("queue", ["\(megabits)", "\(queue)"])
            let ping = try BackgroundProcess(
                link.inClient,
                link.clientArguments + [pingPath, "-n", "-D", "-i", "0.2", "-w", "60", link.serverAddress])
            defer { ping.stop() }
            let state = try TemporaryDirectory()
            let run = try ChildProcess.run(
                link.inClient,
                link.clientArguments + [
                    try Executable.named("hermes-measure").url.path, "--server", "http://\(link.serverAddress):8080",
                    "--state-directory", state.path, "--no-upload", "--duration", "3s", "--responsiveness",
                    "--responsiveness-interval", "1s", "--responsiveness-duration", "12s",
                ],
                timeout: .seconds(90))
            let ended = Date().timeIntervalSince1970
            ping.stop()
            try #require(run.status == 0, "\(run.stderr)")
            let record = try #require(
                try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
            let rpm = try #require(record["download_responsiveness_rpm"] as? Double, "\(record)")
            let selfProbes = try #require(Self.selfProbeMilliseconds(run.stderr), "\(run.stderr)")
            // The pings of the test's last four intervals, over which its figures are taken.
            let loaded = try #require(Self.median(Self.pings(ping.outputText, from: ended - 4, to: ended)))
            rpms[queue] = rpm
            let context =
                "\(megabits) Mbit/s, \(queue) ms queue: ping \(loaded) ms, self probes \(selfProbes) ms, \(rpm) RPM "
                + "(\(record["responsiveness_confidence"] ?? "?") confidence)"
            // In the log, for the figures behind a pass.
            print("ResponsivenessLinkTests: \(context)")
            let tolerance = max(loaded * 0.15, 3)
            // The issue's bar is for the deep queues. On the shallow one the self probes have read
            // 3 to 6 ms under ping at 20 Mbit/s (7 to 14 % in four CI runs, cause not found) and 2 ms
            // at 100; there the band and the ratio to the deep queue are what is held.
            if queue != 20 { #expect(abs(selfProbes - loaded) <= tolerance, "\(context)") }
            #expect(Self.bands(impliedBy: loaded, within: tolerance).contains(Self.band(rpm)), "\(context)")
        }
        let deep = try #require(rpms[300])
        let shallow = try #require(rpms[20])
        #expect(shallow >= 4 * deep, "\(megabits) Mbit/s: \(shallow) RPM with a 20 ms queue, \(deep) with 300 ms")
    }

    /// The round trips `ping -D` printed between two Unix times.
    static func pings(_ output: String, from: Double, to: Double) -> [Double] {
        output.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]"),
                let stamp = Double(line[line.index(after: line.startIndex)..<close]), stamp >= from, stamp <= to,
                let range = line.range(of: "time=")
            else { return nil }
            return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
        }
    }

    static func median(_ values: [Double]) -> Double? {
        guard values.count >= 5 else { return nil }
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    /// "self probes (method) X ms" of hermes-measure's responsiveness line.
    static func selfProbeMilliseconds(_ stderr: String) -> Double? {
        guard let range = stderr.range(of: "self probes ") else { return nil }
        var rest = stderr[range.upperBound...]
        if rest.hasPrefix("("), let close = rest.firstIndex(of: ")") {
            rest = rest[rest.index(after: close)...].drop { $0 == " " }
        }
        return Double(rest.prefix { $0.isNumber || $0 == "." })
    }
}
