import Foundation
import HermesCore
import HermesTestSupport
import Testing

/// A multi-WAN host: two network namespaces joined by two veth pairs shaped to 30 and 90 Mbit/s,
/// the client's default routes over both (the faster one preferred), and hermes-target on the
/// far address of each link and on a service address behind both. `--interface` must measure the
/// link it names, each within 3 % of iperf3 bound to the same device; without it, the routing
/// table's choice. Needs root; timing-sensitive, so scripts/test runs it alone.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root for network namespaces and tc; CI runs it as root"))
struct PathLinkTests {
    @Test func eachInterfaceMeasuresItsOwnLink() throws {
        let name = "hp\(getpid() % 100_000)"
        let link = try ShapedLink(name: name, megabits: 30, subnet: 31)
        defer { link.remove() }
        let second = try link.script("add", ["2", "90", "78.31"])
        let service = "10.79.31.1"
        let (slow, fast) = ("\(name)-c", "\(name)-c2")
        // The service address sits behind both links; the client prefers the 90 Mbit/s one.
        for command in [
            ["-n", "\(name)-srv", "addr", "add", "\(service)/32", "dev", "lo"],
            ["-n", "\(name)-cli", "route", "add", "default", "via", second, "dev", fast, "metric", "100"],
            ["-n", "\(name)-cli", "route", "add", "default", "via", link.serverAddress, "dev", slow, "metric", "200"],
        ] {
            let run = try ChildProcess.run("/usr/sbin/ip", command)
            try #require(run.status == 0, "ip \(command): \(run.stderr)")
        }

        // iperf3 bound to each device, before and after hermes-measure; the better reading is the
        // link's goodput (anything else on the host can only slow TCP down).
        var iperf: [String: (down: Double, up: Double)] = [:]
        func readIperf() throws {
            for device in [slow, fast] {
                let down = try link.iperf3Goodput(reverse: true, to: service, device: device)
                let up = try link.iperf3Goodput(reverse: false, to: service, device: device)
                let best = iperf[device] ?? (0, 0)
                iperf[device] = (max(best.down, down), max(best.up, up))
            }
        }
        try readIperf()

        let target = try BackgroundProcess(
            link.inServer,
            link.serverArguments + [
                try Executable.named("hermes-target").url.path, "--listen", "\(link.serverAddress):8080", "--listen",
                "\(second):8080", "--listen", "\(service):8080",
            ])
        defer { target.stop() }
        try #require(
            target.waitForOutput(containing: "listening on \(service)", timeout: .seconds(10)) != nil,
            "\(target.outputText)")
        let state = try TemporaryDirectory()
        func measure(_ arguments: [String]) throws -> SpeedResult {
            let run = try ChildProcess.run(
                link.inClient,
                link.clientArguments + [
                    try Executable.named("hermes-measure").url.path, "--server", "http://\(service):8080",
                    "--state-directory", state.path, "--no-responsiveness",
                ] + arguments,
                timeout: .seconds(90))
            try #require(run.status == 0, "\(arguments): \(run.stderr)")
            let value = try JSONParser.parse(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            guard case .record(.result(let result)) = try RecordDecoder.decode(value) else {
                throw SetupFailed(description: "not a result: \(run.stdout)")
            }
            return result
        }
        let onSlow = try measure(["--interface", slow])
        let onFast = try measure(["--interface", fast, "--link", "fibre"])
        let routed = try measure([])
        target.stop()
        try readIperf()

        for (result, device, label) in [
            (onSlow, slow, "--interface \(slow)"), (onFast, fast, "--interface \(fast)"), (routed, fast, "the route"),
        ] {
            let reference = try #require(iperf[device])
            let download = try #require(result.downloadMbps)
            let upload = try #require(result.uploadMbps)
            #expect(
                abs(download - reference.down) <= reference.down * 0.03,
                "\(label): download \(download) Mbit/s, iperf3 on \(device) \(reference.down)")
            #expect(
                abs(upload - reference.up) <= reference.up * 0.03,
                "\(label): upload \(upload) Mbit/s, iperf3 on \(device) \(reference.up)")
            #expect(result.extensions.ipVersion == 4)
        }
        // The server saw each test come from that link's own address.
        #expect(onSlow.extensions.clientIP == "10.77.31.2")
        #expect(onFast.extensions.clientIP == "10.78.31.2")
        #expect(routed.extensions.clientIP == "10.78.31.2")
        #expect(onSlow.extensions.interface == slow && onSlow.extensions.link == slow)
        #expect(onFast.extensions.interface == fast && onFast.extensions.link == "fibre")
        #expect(routed.extensions.interface == nil && routed.extensions.link == nil)
    }
}

/// A dual-stack link (IPv4 and a ULA IPv6 prefix), hermes-target on both addresses and a name with
/// both in the client's hosts file: `-4` and `-6` report the family the connection used, and `-6`
/// against an IPv4-only server is a connect failure that names the family. Needs root.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root for network namespaces; CI runs it as root"))
struct DualStackTests {
    @Test func eachFamilyIsMeasuredAndReported() throws {
        let name = "hd\(getpid() % 100_000)"
        let link = try ShapedLink(name: name, megabits: 200, subnet: 33)
        defer { link.remove() }
        let v6 = try link.script("ipv6", ["fd77:33:1"])
        // `ip netns exec` mounts /etc/netns/NAME/hosts over /etc/hosts for what it runs.
        let hostsDirectory = "/etc/netns/\(name)-cli"
        try FileManager.default.createDirectory(atPath: hostsDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: hostsDirectory) }
        try "127.0.0.1 localhost\n\(link.serverAddress) dual.test\n\(v6) dual.test\n".write(
            toFile: hostsDirectory + "/hosts", atomically: true, encoding: .utf8)

        let target = try BackgroundProcess(
            link.inServer,
            link.serverArguments + [
                try Executable.named("hermes-target").url.path, "--listen", "\(link.serverAddress):8080", "--listen",
                "[\(v6)]:8080",
            ])
        defer { target.stop() }
        try #require(
            target.waitForOutput(containing: "listening on [\(v6)]", timeout: .seconds(10)) != nil,
            "\(target.outputText)")
        let state = try TemporaryDirectory()
        func measure(_ arguments: [String]) throws -> (status: Int32, record: Record) {
            let run = try ChildProcess.run(
                link.inClient,
                link.clientArguments + [
                    try Executable.named("hermes-measure").url.path, "--duration", "1s", "--max-bytes", "5000000",
                    "--state-directory", state.path, "--no-responsiveness",
                ] + arguments,
                timeout: .seconds(60))
            let value = try JSONParser.parse(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            guard case .record(let record) = try RecordDecoder.decode(value) else {
                throw SetupFailed(description: "not a record: \(run.stdout) \(run.stderr)")
            }
            return (run.status, record)
        }
        for (flag, version, client) in [("-4", Int64(4), link.clientAddress), ("-6", Int64(6), "fd77:33:1::2")] {
            let (status, record) = try measure([flag, "--server", "http://dual.test:8080"])
            #expect(status == 0, "\(flag): \(record)")
            guard case .result(let result) = record else { continue }
            #expect(result.extensions.ipVersion == version, "\(flag)")
            #expect(result.extensions.clientIP == client, "\(flag)")
        }
        // An IPv6 literal needs no flag; the family is read from the connection.
        let (_, literal) = try measure(["--server", "http://[\(v6)]:8080"])
        #expect(literal.values[.ipVersion] == .integer(6), "\(literal)")

        let (status, record) = try measure(["-6", "--server", "http://\(link.serverAddress):8080"])
        #expect(status == 1)
        guard case .failure(let failure) = record else {
            Issue.record("-6 to an IPv4 address measured: \(record)")
            return
        }
        #expect(failure.errorKind == .connect)
        #expect(failure.error.contains("IPv6 only"), "\(failure.error)")
    }
}
