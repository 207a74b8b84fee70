import Foundation
import HermesTestSupport
import Testing

/// A Cloudflare speed-test client Hermes did not write, run as it ships against hermes-target:
/// cloudflarepycli (PyPI, pure Python, imported from its wheel, which scripts/test downloads into
/// its cache and names in HERMES_TEST_CFSPEEDTEST_WHEEL). Only its HTTP session is routed: a
/// transport adapter sends its https://speed.cloudflare.com URLs to the local server, as a
/// hosts-file entry would. It reads /meta's fields, divides download sizes by the time less
/// `Server-Timing`, and upload sizes by `Server-Timing` alone, so the figures it prints show
/// whether hermes-target's endpoints answer as the live service's do.
@Suite struct ThirdPartyClientTests {
    static let wheel = ProcessInfo.processInfo.environment["HERMES_TEST_CFSPEEDTEST_WHEEL"]

    static let driver = """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import requests.adapters
        from cfspeedtest import CloudflareSpeedtest

        base = sys.argv[2]

        class ToLocal(requests.adapters.HTTPAdapter):
            def send(self, request, **kwargs):
                request.url = base + request.url[len("https://speed.cloudflare.com"):]
                return super().send(request, **kwargs)

        test = CloudflareSpeedtest()
        test.request_sess.mount("https://speed.cloudflare.com", ToLocal())
        results = test.run_all(megabits=True)
        json.dump({kind: {label: result.value for label, result in entries.items()}
                   for kind, entries in results.items()}, sys.stdout)
        """

    @Test(
        .enabled(
            if: wheel != nil,
            "HERMES_TEST_CFSPEEDTEST_WHEEL is not set: scripts/test downloads cloudflarepycli from PyPI"))
    func cloudflarepycliMeasuresAPacedTargetAsItIs() throws {
        let wheel = try #require(Self.wheel)
        let python = try #require(ChildProcess.installed("python3"), "python3 is not installed")
        let directory = try TemporaryDirectory()
        let driver = try directory.write(Self.driver, to: "drive.py")
        // 200 Mbit/s each way and 20 ms before each answer: a link the figures can be held to.
        let target = try BackgroundProcess(
            try Executable.named("hermes-target").url.path,
            ["--listen", "127.0.0.1:0", "--rate", "200", "--delay", "20", "--colo", "TST", "--city", "Testville"])
        defer { target.stop() }
        let output = try #require(
            target.waitForOutput(containing: "listening on 127.0.0.1:", timeout: .seconds(10)), "\(target.outputText)")
        let port = try #require(
            output.components(separatedBy: "listening on 127.0.0.1:").last.flatMap { Int($0.prefix { $0.isNumber }) })

        let run = try ChildProcess.run(
            python, [driver, wheel, "http://127.0.0.1:\(port)"], environment: ["PATH": "/usr/bin:/bin"],
            timeout: .seconds(180))
        try #require(run.status == 0 && !run.timedOut, "cfspeedtest failed: \(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let meta = try #require(object["meta"] as? [String: Any])
        let tests = try #require(object["tests"] as? [String: Any])

        // /meta: the fields it reads by name are all there.
        #expect(meta["ip"] as? String == "127.0.0.1")
        #expect(meta["location_city"] as? String == "Testville")
        #expect(meta["location_region"] as? String == "Testville")
        #expect((meta["location_code"] as? [String: Any])?["iata"] as? String == "TST")
        #expect(tests["isp"] as? String == "hermes-target")

        // Its latency is the time to the response head less Server-Timing: the 20 ms delay, and
        // the loopback's fraction of a millisecond.
        let latency = try #require(tests["latency"] as? Double)
        #expect(latency >= 19.5 && latency < 40, "latency \(latency) ms")

        // Its 90th percentiles of per-request rates: at most the paced rate (an idle link must not
        // bank credit for the next request, and an upload's Server-Timing must span its body's
        // way through the link), and not far under it on a busy test host.
        for key in ["90th_percentile_down_mbps", "90th_percentile_up_mbps"] {
            let rate = try #require(tests[key] as? Double, "\(key) missing: \(tests)")
            #expect(rate > 160 && rate <= 210, "\(key) \(rate) Mbit/s on a 200 Mbit/s link")
        }
        // Each upload size on its own, the small ones included (they fit in the link's queue).
        for key in ["100kB_up_mbps", "1MB_up_mbps", "10MB_up_mbps"] {
            let rate = try #require(tests[key] as? Double, "\(key) missing: \(tests)")
            #expect(rate > 140 && rate <= 210, "\(key) \(rate) Mbit/s on a 200 Mbit/s link")
        }
    }
}
