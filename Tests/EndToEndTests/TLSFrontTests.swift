import Foundation
import HermesTarget
import HermesTestSupport
import Testing

/// nginx/hermes-target.conf, the shipped TLS 1.3 and HTTP/2 front, in front of a hermes-target:
/// what Apple's networkQuality asks of a server (network-quality/server, SERVER_SPEC.md) checked
/// with curl, and hermes-measure's nq engine through it with `--ca-file`, its self probes riding
/// the load connections as HTTP/2 streams.
@Suite(.serialized) struct TLSFrontTests {
    final class Front {
        let url: String
        let caFile: String
        let target: TargetServer
        private let nginx: Nginx

        init(in scratch: TemporaryDirectory) throws {
            let executable = try #require(
                ChildProcess.installed("nginx"), "apt-get install nginx-light (scripts/test does)")
            target = try TargetServer.startOnLoopback {
                $0.downBytesPerSecond = 20_000_000
                $0.upBytesPerSecond = 20_000_000
            }
            let root = scratch.file("front")
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let (certificate, key) = try Nginx.loopbackCertificate(in: root)
            caFile = certificate
            let port = try closedLoopbackPort()
            url = "https://127.0.0.1:\(port)"
            // The shipped file as a user installs it, with this test's address, port and files.
            var site = try String(
                contentsOf: ManualTests.packageRoot.appendingPathComponent("nginx/hermes-target.conf"), encoding: .utf8)
            for (shipped, here) in [
                ("listen 443 ssl http2;", "listen 127.0.0.1:\(port) ssl http2;"),
                ("listen [::]:443 ssl http2;", ""),
                ("server 127.0.0.1:8080;", "server \(target.address);"),
                ("/etc/ssl/certs/nq.example.net.pem", certificate),
                ("/etc/ssl/private/nq.example.net.key", key),
            ] {
                try #require(site.contains(shipped), "nginx/hermes-target.conf has '\(shipped)'")
                site = site.replacingOccurrences(of: shipped, with: here)
            }
            try site.write(toFile: root + "/site.conf", atomically: false, encoding: .utf8)
            nginx = try Nginx(
                executable: executable, root: root,
                http: "access_log \(root)/access.log;\ninclude \(root)/site.conf;",
                ready: url + "/small", curlArguments: ["--cacert", certificate])
        }

        /// curl through the front over HTTP/2: the body and `%{http_version}` on the last line.
        func curl(_ path: String, _ arguments: [String] = []) throws -> ProcessOutcome {
            try ChildProcess.run(
                "/usr/bin/curl",
                ["-sS", "--http2", "--cacert", caFile, "-w", "\n%{http_version}"] + arguments + [url + path])
        }

        func stop() {
            nginx.stop()
            target.stop()
        }
    }

    @Test func theFrontServesWhatNetworkQualityAsksOverTLS13AndHTTP2() throws {
        let scratch = try TemporaryDirectory()
        let front = try Front(in: scratch)
        defer { front.stop() }

        let configuration = try front.curl("/.well-known/nq")
        try #require(configuration.status == 0, "\(configuration.stderr)")
        let lines = configuration.stdout.split(separator: "\n")
        #expect(lines.last == "2", "HTTP/2")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(lines.dropLast().joined(separator: "\n").utf8))
                as? [String: Any])
        #expect(json["version"] as? Int == 1)
        let urls = try #require(json["urls"] as? [String: String])
        #expect(urls["small_download_url"] == front.url + "/small")
        #expect(urls["large_download_url"] == front.url + "/large")
        #expect(urls["upload_url"] == front.url + "/slurp")
        #expect(urls["https_upload_url"] == front.url + "/slurp")

        // TLS 1.3 alone.
        let older = try ChildProcess.run(
            "/usr/bin/curl",
            ["-sS", "-o", "/dev/null", "--cacert", front.caFile, "--tls-max", "1.2", front.url + "/small"])
        #expect(older.status != 0, "a TLS 1.2 client is refused")

        let small = try front.curl("/small")
        #expect(small.stdout == "h\n2", "one byte over HTTP/2")

        // The large object streams through, as far as the client reads it.
        let partial = try ChildProcess.run(
            "/bin/sh",
            [
                "-c",
                "curl -s --http2 --cacert '\(front.caFile)' --max-time 20 '\(front.url)/large' | head -c 30000000 | wc -c",
            ])
        #expect(partial.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "30000000")

        // An upload of a length nobody knows beforehand (HTTP/2 DATA frames without
        // Content-Length): nginx passes it on chunked, and hermes-target counts every byte.
        let upload = try ChildProcess.run(
            "/bin/sh",
            [
                "-c",
                "head -c 20000000 /dev/zero | curl -sS --http2 --cacert '\(front.caFile)' -X POST -T - -D - -o /dev/null '\(front.url)/slurp'",
            ])
        #expect(upload.stdout.hasPrefix("HTTP/2 200"), "\(upload.stdout) \(upload.stderr)")
        #expect(upload.stdout.lowercased().contains("x-hermes-received-bytes: 20000000"), "\(upload.stdout)")

        // What a client claims in forwarded headers of its own is replaced by what the front
        // saw: the URLs name the front, and the client is the address it came from.
        let claims = [
            "-H", "X-Forwarded-For: 192.0.2.9", "-H", "X-Forwarded-Host: evil.example", "-H",
            "X-Forwarded-Proto: http",
        ]
        let claimed = try front.curl("/.well-known/nq", claims)
        #expect(claimed.stdout.contains(#""upload_url":"\#(front.url)/slurp""#), "\(claimed.stdout)")
        #expect(!claimed.stdout.contains("evil"))
        let meta = try front.curl("/meta", claims)
        #expect(meta.stdout.contains(#""clientIp":"127.0.0.1""#), "\(meta.stdout)")
        #expect(meta.stdout.contains(#""hostname":"\#(front.url.dropFirst("https://".count))""#), "\(meta.stdout)")

        // /meta and /cdn-cgi/trace name what the client spoke to the front, as the service's do.
        #expect(meta.stdout.contains(#""httpProtocol":"HTTP/2""#), "\(meta.stdout)")
        let trace = try front.curl("/cdn-cgi/trace", ["-H", "X-Forwarded-TLS: TLSv1.0"])
        #expect(trace.stdout.contains("\nhttp=h2\n") && trace.stdout.contains("\ntls=TLSv1.3\n"), "\(trace.stdout)")
        let overHTTP1 = try front.curl("/meta", ["--http1.1"])
        #expect(overHTTP1.stdout.contains(#""httpProtocol":"HTTP/1.1""#), "\(overHTTP1.stdout)")
    }

    @Test func hermesMeasureTestsThroughTheFrontWithItsCAFile() throws {
        let scratch = try TemporaryDirectory()
        let front = try Front(in: scratch)
        defer { front.stop() }
        let state = try TemporaryDirectory()
        let arguments = [
            "--engine", "nq", "--server", front.url, "--duration", "2s", "--responsiveness", "parallel",
            "--responsiveness-interval", "300ms", "--responsiveness-duration", "4s", "--state-directory", state.path,
        ]
        let outcome = try Executable.named("hermes-measure").run(
            arguments + ["--ca-file", front.caFile], timeout: 120)
        try #require(outcome.status == 0, "\(outcome.stdout) \(outcome.stderr)")
        let record = try #require(
            try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(record["server_url"] as? String == front.url)
        // 160 Mbit/s each way behind the front, uploads as HTTP/2 streams without a length.
        #expect((record["download_mbps"] as? Double ?? 0) > 100, "\(record)")
        #expect((record["upload_mbps"] as? Double ?? 0) > 100, "\(record)")
        #expect(record["responsiveness_self_probe"] as? String == "http2", "\(record)")
        #expect((record["responsiveness_rpm"] as? Double ?? 0) > 0)
        #expect((record["upload_bytes"] as? Int ?? 0) > 2 * 20_000_000, "\(record)")

        // Without the authority, the server's certificate is not trusted: a failure record.
        let untrusted = try Executable.named("hermes-measure").run(arguments, timeout: 120)
        #expect(untrusted.status == 1)
        #expect(untrusted.stdout.contains(#""error_kind":"tls""#), "\(untrusted.stdout)")
    }

    /// `--ca-file` replaces the system's store: its file and its directory, which libcurl also
    /// searches. In a mount namespace of its own, the test puts the front's certificate into the
    /// store's directory (as its hash link), and an unrelated one in the bundle file: without
    /// `--ca-file` the run trusts the front through the directory, and with `--ca-file` naming
    /// another authority it must not.
    @Test(.enabled(if: getuid() == 0, "needs root to mount over /etc/ssl/certs in a namespace; CI runs it as root"))
    func aCAFileReplacesTheSystemsCertificateDirectory() throws {
        let scratch = try TemporaryDirectory()
        let front = try Front(in: scratch)
        defer { front.stop() }
        let store = scratch.file("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        // Another subject: OpenSSL looks trust anchors up by subject, and one of the front's name
        // in the bundle would hide the directory's.
        let unrelated = scratch.file("unrelated.pem")
        let made = try ChildProcess.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                scratch.file("unrelated.key"), "-out", unrelated, "-days", "2", "-subj", "/CN=Unrelated Test CA",
            ])
        try #require(made.status == 0, "\(made.stderr)")
        let hash = try ChildProcess.run("/usr/bin/openssl", ["x509", "-hash", "-noout", "-in", front.caFile])
        try #require(hash.status == 0, "\(hash.stderr)")
        try FileManager.default.copyItem(
            atPath: front.caFile,
            toPath: store + "/" + hash.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + ".0")
        try FileManager.default.copyItem(atPath: unrelated, toPath: store + "/ca-certificates.crt")

        func measure(_ extra: [String]) throws -> String {
            let state = try TemporaryDirectory()
            let command =
                [
                    try Executable.named("hermes-measure").url.path, "--engine", "nq", "--server", front.url,
                    "--duration",
                    "1s", "--no-upload", "--no-responsiveness", "--state-directory", state.path,
                ] + extra
            let run = try ChildProcess.run(
                "/usr/bin/unshare",
                ["--mount", "/bin/sh", "-c", "mount --bind \"$0\" /etc/ssl/certs && exec \"$@\"", store] + command,
                timeout: .seconds(60))
            return run.stdout
        }
        let system = try measure([])
        #expect(system.contains(#""type":"result""#), "the directory's certificate is trusted: \(system)")
        let replaced = try measure(["--ca-file", unrelated])
        #expect(replaced.contains(#""error_kind":"tls""#), "--ca-file leaves the directory out: \(replaced)")
    }

    @Test func aCAFileThatCannotBeReadIsAConfigurationError() throws {
        let outcome = try Executable.named("hermes-measure").run([
            "--engine", "nq", "--server", "https://127.0.0.1:9", "--ca-file", "/nonexistent/ca.pem",
        ])
        #expect(outcome.status == 78)
        #expect(outcome.stdout.isEmpty)
        #expect(
            outcome.stderrLines.first
                == "hermes-measure: --ca-file: cannot read /nonexistent/ca.pem: No such file or directory")
    }
}
