import Foundation
import HermesCore
import HermesHTTP
import HermesTestSupport
import Testing

@testable import HermesMeasure

/// Self probes over HTTP/2: a small GET multiplexed as a stream on a load connection, against
/// nginx speaking `http2` on TLS, as Cloudflare's servers do; the same nginx without `http2` has
/// the load's TCP_INFO round trips instead. nginx's access log names each request's connection,
/// so the test sees that every probe rode a connection that carried the load.
@Suite(.serialized) struct HTTP2SelfProbeTests {
    /// Endpoints whose every request trusts the test's own certificate authority.
    struct Trusting: SpeedTestEndpoints {
        var base: NQEndpoints
        var caFile: String

        var serverURL: String { base.serverURL }
        var route: NetworkRoute { base.route }
        var uploadRequestBytes: Int64 { base.uploadRequestBytes }
        func download(upTo bytes: Int64) -> HTTPRequest { trusting(base.download(upTo: bytes)) }
        func upload(bytes: Int64) -> HTTPRequest { trusting(base.upload(bytes: bytes)) }
        func latencyProbe() -> HTTPRequest { trusting(base.latencyProbe()) }
        func serverTime(of response: HTTPResponse) -> ServerTime? { base.serverTime(of: response) }

        private func trusting(_ request: HTTPRequest) -> HTTPRequest {
            var request = request
            request.caFile = caFile
            return request
        }
    }

    /// nginx serving a 64 MB object, a small one and an upload sink on two TLS ports of loopback,
    /// one with `http2` and one without, with a certificate made for the test.
    final class Site {
        let root: String
        let http2Port: UInt16
        let http1Port: UInt16
        let caFile: String
        private let process: Process

        init(nginx: String, in scratch: TemporaryDirectory) throws {
            let root = scratch.file("site")
            let caFile = root + "/cert.pem"
            self.root = root
            self.caFile = caFile
            for directory in ["www", "tmp"] {
                try FileManager.default.createDirectory(
                    atPath: root + "/" + directory, withIntermediateDirectories: true)
            }
            let large = root + "/www/large"
            _ = FileManager.default.createFile(atPath: large, contents: nil)
            try FileHandle(forWritingAtPath: large).map { try $0.truncate(atOffset: 64 << 20) }
            try "ok\n".write(toFile: root + "/www/small", atomically: false, encoding: .utf8)
            let made = try ChildProcess.run(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    root + "/key.pem", "-out", caFile, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1",
                ])
            guard made.status == 0 else { throw SiteError(description: "openssl: \(made.stderr)") }
            http2Port = try closedLoopbackPort()
            http1Port = try closedLoopbackPort()
            let asRoot = getuid() == 0
            func server(_ port: UInt16, _ protocols: String) -> String {
                """
                server {
                    listen 127.0.0.1:\(port) \(protocols);
                    ssl_certificate \(caFile);
                    ssl_certificate_key \(root)/key.pem;
                    root \(root)/www;
                    access_log \(root)/access-\(port).log probes;
                    location = /upload { client_max_body_size 0; return 204; }
                }
                """
            }
            try """
            \(asRoot ? "user root;" : "")
            daemon off;
            worker_processes 1;
            pid \(root)/nginx.pid;
            error_log \(root)/nginx.log;
            events { worker_connections 256; }
            http {
                log_format probes '$connection $request_uri $server_protocol';
                client_body_temp_path \(root)/tmp/body;
                proxy_temp_path \(root)/tmp/proxy;
                fastcgi_temp_path \(root)/tmp/fastcgi;
                uwsgi_temp_path \(root)/tmp/uwsgi;
                scgi_temp_path \(root)/tmp/scgi;
                \(server(http2Port, "ssl http2"))
                \(server(http1Port, "ssl"))
            }
            """.write(toFile: root + "/nginx.conf", atomically: false, encoding: .utf8)
            process = Process()
            process.executableURL = URL(fileURLWithPath: nginx)
            process.arguments = ["-c", root + "/nginx.conf", "-e", root + "/nginx.log", "-p", root]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.runAsSystemdWould()
            let probe = "https://127.0.0.1:\(http2Port)/small"
            let up = eventually {
                (try? ChildProcess.run("/usr/bin/curl", ["-sf", "--cacert", caFile, "-o", "/dev/null", probe]))?
                    .status == 0 ? true : nil
            }
            if up != true {
                stop()
                let log = (try? String(contentsOfFile: root + "/nginx.log", encoding: .utf8)) ?? ""
                throw SiteError(description: "nginx did not serve \(probe): \(log)")
            }
        }

        func endpoints(port: UInt16) -> Trusting {
            let base = "https://127.0.0.1:\(port)"
            return Trusting(
                base: NQEndpoints(
                    serverURL: base,
                    configuration: NQConfiguration(
                        small: base + "/small", large: base + "/large", upload: base + "/upload")),
                caFile: caFile)
        }

        /// The access log's lines as (connection, path, protocol).
        func requests(port: UInt16) -> [(connection: String, path: String, protocol: String)] {
            let text = (try? String(contentsOfFile: root + "/access-\(port).log", encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ").map(String.init)
                return fields.count == 3 ? (fields[0], fields[1], fields[2]) : nil
            }
        }

        func stop() {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
    }

    static func stage(_ endpoints: Trusting) throws -> ResponsivenessOutcome {
        var parameters = ResponsivenessParameters()
        parameters.interval = .milliseconds(500)
        parameters.maxConnections = 4
        return try ResponsivenessStage(
            direction: .download, endpoints: endpoints, parameters: parameters, limit: .seconds(4),
            deadline: Deadline(after: .seconds(30)),
            progress: LiveProgress(enabled: false, diagnostics: Diagnostics(tool: "hermes-measure")),
            initialGoodput: 1e9
        ).run()
    }

    @Test func selfProbesRideTheLoadConnectionsAsHTTP2Streams() throws {
        let nginx = try #require(ChildProcess.installed("nginx"), "apt-get install nginx-light (scripts/test does)")
        let scratch = try TemporaryDirectory()
        let site = try Site(nginx: nginx, in: scratch)
        defer { site.stop() }

        let outcome = try Self.stage(site.endpoints(port: site.http2Port))
        #expect(outcome.selfProbeMethod == .http2)
        let score = try #require(outcome.score, "the stage scored")

        // nginx writes a request's log line when it ends: a load connection is known by the
        // 64 MB objects it finished.
        let requests = site.requests(port: site.http2Port)
        let loadConnections = Set(requests.filter { $0.path == "/large" }.map(\.connection))
        let probes = requests.filter { $0.path == "/small" }
        let probeConnections = Dictionary(grouping: probes, by: \.connection)
        // Foreign probes each have a connection of their own; self probes share a load's.
        let shared = probeConnections.filter { $0.value.count > 1 }
        #expect(!shared.isEmpty, "some probes shared a connection: \(probeConnections.mapValues(\.count))")
        #expect(probes.allSatisfy { $0.protocol == "HTTP/2.0" })
        let selfProbes = shared.values.reduce(0) { $0 + $1.count }
        #expect(selfProbes >= 4, "self probes on load connections: \(selfProbes) of \(probes.count) probes")
        // A connection that carried several probes carried the load.
        #expect(shared.keys.allSatisfy(loadConnections.contains), "load connections: \(loadConnections)")
        print(
            "HTTP2SelfProbeTests: \(probes.count) probes, \(selfProbes) on \(shared.count) load connection(s) "
                + "of \(loadConnections.count); self \(60000 / score.loadedRPM) ms, "
                + "foreign \(60000 / score.foreignRPM) ms, \(outcome.connections) connections")
    }

    @Test func overHTTP1TheLoadsRoundTripIsTheSelfProbe() throws {
        let nginx = try #require(ChildProcess.installed("nginx"), "apt-get install nginx-light (scripts/test does)")
        let scratch = try TemporaryDirectory()
        let site = try Site(nginx: nginx, in: scratch)
        defer { site.stop() }

        let outcome = try Self.stage(site.endpoints(port: site.http1Port))
        #expect(outcome.selfProbeMethod == .tcpInfo)
        #expect(outcome.score != nil)
        let probes = site.requests(port: site.http1Port).filter { $0.path == "/small" }
        // One HTTP/2 attempt at most, which found no stream to ride and came on its own connection.
        #expect(probes.allSatisfy { $0.protocol == "HTTP/1.1" })
        #expect(Dictionary(grouping: probes, by: \.connection).values.allSatisfy { $0.count == 1 })
    }
}
