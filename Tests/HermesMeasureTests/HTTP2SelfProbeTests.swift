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
    /// nginx serving a 64 MB object, a small one and an upload sink on two TLS ports of loopback,
    /// one with `http2` and one without, with a certificate made for the test.
    final class Site {
        let root: String
        let http2Port: UInt16
        let http1Port: UInt16
        let caFile: String
        private let nginx: Nginx

        init(nginx executable: String, in scratch: TemporaryDirectory) throws {
            let root = scratch.file("site")
            self.root = root
            try FileManager.default.createDirectory(atPath: root + "/www", withIntermediateDirectories: true)
            let large = root + "/www/large"
            _ = FileManager.default.createFile(atPath: large, contents: nil)
            try FileHandle(forWritingAtPath: large).map { try $0.truncate(atOffset: 64 << 20) }
            try "ok\n".write(toFile: root + "/www/small", atomically: false, encoding: .utf8)
            let (certificate, key) = try Nginx.loopbackCertificate(in: root)
            caFile = certificate
            http2Port = try closedLoopbackPort()
            http1Port = try closedLoopbackPort()
            func server(_ port: UInt16, _ protocols: String) -> String {
                """
                server {
                    listen 127.0.0.1:\(port) \(protocols);
                    ssl_certificate \(certificate);
                    ssl_certificate_key \(key);
                    root \(root)/www;
                    access_log \(root)/access-\(port).log probes;
                    location = /upload { client_max_body_size 0; return 204; }
                }
                """
            }
            nginx = try Nginx(
                executable: executable, root: root,
                http: """
                    log_format probes '$connection $request_uri $server_protocol';
                    \(server(http2Port, "ssl http2"))
                    \(server(http1Port, "ssl"))
                    """,
                ready: "https://127.0.0.1:\(http2Port)/small", curlArguments: ["--cacert", certificate])
        }

        /// The site's endpoints, every request trusting the test's certificate (`--ca-file`).
        func endpoints(port: UInt16) -> NQEndpoints {
            let base = "https://127.0.0.1:\(port)"
            return NQEndpoints(
                serverURL: base,
                configuration: NQConfiguration(
                    small: base + "/small", large: base + "/large", upload: base + "/upload"),
                route: NetworkRoute(caFile: caFile))
        }

        /// The access log's lines as (connection, path, protocol).
        func requests(port: UInt16) -> [(connection: String, path: String, protocol: String)] {
            let text = (try? String(contentsOfFile: root + "/access-\(port).log", encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ").map(String.init)
                return fields.count == 3 ? (fields[0], fields[1], fields[2]) : nil
            }
        }

        func stop() { nginx.stop() }
    }

    static func stage(_ endpoints: NQEndpoints) throws -> ResponsivenessOutcome {
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
