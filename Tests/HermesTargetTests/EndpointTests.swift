import CZlib
import Foundation
import HermesHTTP
import HermesTarget
import Testing

@Suite struct EndpointTests {
    @Test func downSendsExactlyTheRequestedBytes() throws {
        let server = try startServer()
        defer { server.stop() }
        let response = try server.get("/__down?bytes=1000003")
        #expect(response.status == 200)
        #expect(response.body.count == 1_000_003)
        #expect(response.headers["Content-Length"] == "1000003")
        #expect(response.headers["Content-Type"] == "application/octet-stream")
        #expect(response.headers["Server-Timing"]?.hasPrefix("cfRequestDuration;dur=") == true)
        #expect(response.headers["Cache-Control"]?.contains("no-store") == true)
        let empty = try server.get("/__down?bytes=0")
        #expect(empty.status == 200)
        #expect(empty.body.isEmpty)
        #expect(try server.get("/__down?bytes=-1").status == 400)
        #expect(try server.get("/__down?bytes=many").status == 400)
    }

    @Test func downStreamsMoreThanTheBufferWithoutCollecting() throws {
        let server = try startServer()
        defer { server.stop() }
        let bytes: Int64 = 300_000_001
        let response = try HTTPClient.perform(
            HTTPRequest(url: server.baseURL + "/__down?bytes=\(bytes)", responseBody: .discard))
        #expect(response.status == 200)
        #expect(response.metrics.bytesReceived == bytes)
    }

    @Test func payloadIsIncompressible() throws {
        let server = try startServer()
        defer { server.stop() }
        let body = try server.get("/__down?bytes=1048576").body
        var compressedLength = compressBound(uLong(body.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        let status = compress2(&compressed, &compressedLength, body, uLong(body.count), Z_BEST_COMPRESSION)
        #expect(status == Z_OK)
        #expect(Double(compressedLength) >= 0.99 * Double(body.count))
        // And every byte value appears about equally often.
        var counts = [Int](repeating: 0, count: 256)
        for byte in body { counts[Int(byte)] += 1 }
        #expect(counts.min()! > 3500 && counts.max()! < 4700)
    }

    @Test func garbageSendsWholeMebibyteChunksWithAndWithoutPHP() throws {
        let server = try startServer()
        defer { server.stop() }
        for (path, chunks) in [
            ("/garbage.php?ckSize=3", 3), ("/garbage?ckSize=1", 1), ("/garbage.php", 4),
            ("/backend/garbage?ckSize=2", 2),
        ] {
            let response = try HTTPClient.perform(HTTPRequest(url: server.baseURL + path, responseBody: .discard))
            #expect(response.status == 200, "\(path)")
            #expect(response.metrics.bytesReceived == Int64(chunks) * 1_048_576, "\(path)")
            #expect(response.headers["Content-Length"] == "\(chunks * 1_048_576)", "\(path)")
        }
        #expect(try server.get("/garbage?ckSize=x").status == 400)
    }

    @Test func uploadsAreCountedWithContentLengthAndChunked() throws {
        let server = try startServer()
        defer { server.stop() }
        let length: Int64 = 5_000_000
        let source: @Sendable (Int64, UnsafeMutableRawBufferPointer) -> BodySourceStep = { offset, buffer in
            let count = min(Int64(buffer.count), length - offset)
            guard count > 0 else { return .end }
            buffer.initializeMemory(as: UInt8.self, repeating: 0x30)
            return .filled(Int(count))
        }
        for (path, declared) in [("/__up", true), ("/empty.php", true), ("/__up", false), ("/empty", false)] {
            let before = server.statistics.bodyBytesReceived
            let response = try HTTPClient.perform(
                HTTPRequest(
                    url: server.baseURL + path, method: .post,
                    body: .stream(length: declared ? length : nil, source: source)))
            #expect(response.status == 200, "\(path)")
            #expect(response.body.isEmpty)
            #expect(response.headers["X-Hermes-Received-Bytes"] == "\(length)", "\(path) \(declared)")
            #expect(server.statistics.bodyBytesReceived - before == length)
        }
        let ping = try server.get("/empty.php")
        #expect(ping.status == 200)
        #expect(ping.body.isEmpty)
    }

    @Test func getIPDescribesTheClient() throws {
        let server = try startServer { $0.country = "DE" }
        defer { server.stop() }
        let response = try server.get("/getIP.php?isp=true")
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect((object["processedString"] as? String)?.hasPrefix("127.0.0.1 - ") == true)
        let info = try #require(object["rawIspInfo"] as? [String: Any])
        #expect(info["ip"] as? String == "127.0.0.1")
        #expect(info["country"] as? String == "DE")
        #expect(info["org"] as? String == "hermes-target")
        let plain = try JSONSerialization.jsonObject(with: Data(try server.get("/getIP").body)) as? [String: Any]
        #expect(plain?["processedString"] as? String == "127.0.0.1")
        #expect(plain?["rawIspInfo"] as? String == "")
    }

    @Test func metadataReportsTheConfiguredLocation() throws {
        let server = try startServer {
            $0.colo = "FRA"
            $0.city = "Frankfurt \"am Main\""
            $0.country = "DE"
        }
        defer { server.stop() }
        let meta = try server.get("/meta")
        #expect(meta.status == 200)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(meta.body)) as? [String: Any])
        #expect(object["clientIp"] as? String == "127.0.0.1")
        // The service's current shape: the data centre an object, the ASN a number,
        // coordinates strings.
        let colo = try #require(object["colo"] as? [String: Any])
        #expect(colo["iata"] as? String == "FRA")
        #expect(colo["city"] as? String == "Frankfurt \"am Main\"")
        #expect(colo["cca2"] as? String == "DE")
        #expect(colo["lat"] is NSNumber && colo["lon"] is NSNumber && colo["region"] is String)
        #expect(object["city"] as? String == "Frankfurt \"am Main\"")
        #expect(object["country"] as? String == "DE")
        #expect(object["asOrganization"] as? String == "hermes-target")
        #expect(object["asn"] is NSNumber && object["latitude"] is String && object["longitude"] is String)
        #expect(object["httpProtocol"] as? String == "HTTP/1.1" && object["hostname"] is String)
        #expect(object["region"] is String && object["postalCode"] is String)
        let trace = String(decoding: try server.get("/cdn-cgi/trace").body, as: UTF8.self)
        #expect(trace.contains("\nip=127.0.0.1\n"))
        #expect(trace.contains("\ncolo=FRA\n"))
        #expect(trace.contains("\nloc=DE\n"))
    }

    /// Each shape of Server-Timing the service has sent, on downloads and uploads alike, with
    /// what a browser client needs to read it.
    @Test(arguments: TargetConfiguration.ServerTimingShape.allCases)
    func serverTimingTakesEveryShapeTheServiceHasSent(shape: TargetConfiguration.ServerTimingShape) throws {
        let server = try startServer { $0.serverTiming = shape }
        defer { server.stop() }
        let down = try server.get("/__down?bytes=0")
        let up = try HTTPClient.perform(
            HTTPRequest(
                url: server.baseURL + "/__up", method: .post, body: .bytes(Array(repeating: 0x30, count: 100_000)),
                responseBody: .collect(limit: 1024)))
        for response in [down, up] {
            let timing = response.headers["Server-Timing"]
            let pattern: Regex<Substring>? =
                switch shape {
                case .requestDuration: /cfRequestDuration;dur=[0-9]+\.[0-9]{6}/
                case .requestDurationL4:
                    /cfRequestDuration;dur=[0-9]+\.[0-9]{6}, cfL4;desc="\?proto=TCP&rtt=[0-9]+&rtt_var=[0-9]+&retrans=[0-9]+&cwnd=[0-9]+"/
                case .l4: /cfL4;desc="\?proto=TCP&rtt=[0-9]+&rtt_var=[0-9]+&retrans=[0-9]+&cwnd=[0-9]+"/
                case .edgeWorker: /cfSpeedEdge;dur=[0-9]+, cfSpeedWorker;dur=[0-9]+, cfL4;desc="[^"]*"/
                case .none: nil
                }
            if let pattern {
                #expect(try pattern.wholeMatch(in: timing ?? "") != nil, "\(shape): \(timing ?? "none")")
                #expect(response.headers["Timing-Allow-Origin"] == "*")
                #expect(response.headers["Access-Control-Expose-Headers"] == "Server-Timing")
            } else {
                #expect(timing == nil)
            }
        }
        // The TCP round trip is the connection's own: loopback's is well under a second.
        if shape == .l4, let rtt = down.headers["Server-Timing"]?.firstMatch(of: /rtt=([0-9]+)&/) {
            #expect((Int(rtt.1) ?? -1) < 1_000_000)
        }
    }

    @Test func serverListDescribesItself() throws {
        let server = try startServer()
        defer { server.stop() }
        let response = try server.get("/servers.json")
        #expect(response.status == 200)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]])
        #expect(list.count == 1)
        #expect(list.first?["server"] as? String == "\(server.baseURL)/")
        #expect(list.first?["dlURL"] as? String == "garbage")
        #expect(list.first?["ulURL"] as? String == "empty")
        #expect(list.first?["pingURL"] as? String == "empty")
        #expect(list.first?["getIpURL"] as? String == "getIP")
    }

    @Test func keepsTheConnectionAliveBetweenRequests() throws {
        let server = try startServer()
        defer { server.stop() }
        let transfer = try EasyTransfer()
        let first = try transfer.perform(
            HTTPRequest(url: server.baseURL + "/__down?bytes=100000", responseBody: .discard))
        let second = try transfer.perform(
            HTTPRequest(url: server.baseURL + "/empty", method: .post, body: .bytes([1, 2, 3])))
        #expect(first.status == 200 && second.status == 200)
        #expect(first.headers["Connection"] == "keep-alive")
        #expect(second.metrics.newConnections == 0)
        #expect(second.headers["X-Hermes-Received-Bytes"] == "3")
        #expect(server.statistics.connections == 1)
        #expect(server.statistics.requests == 2)
    }

    @Test func unknownPathsAndMethodsAreRefused() throws {
        let server = try startServer()
        defer { server.stop() }
        #expect(try server.get("/nothing-here").status == 404)
        let wrong = try HTTPClient.perform(HTTPRequest(url: server.baseURL + "/__down?bytes=5", method: .delete))
        #expect(wrong.status == 405)
        #expect(wrong.headers["Allow"] == "GET, HEAD")
        #expect(try server.get("/__up").status == 405)
    }

    @Test func oversizedRequestHeadIsRefused() throws {
        let server = try startServer()
        defer { server.stop() }
        let request = HTTPRequest(
            url: server.baseURL + "/empty", headers: ["X-Padding": String(repeating: "a", count: 20_000)])
        let response = try HTTPClient.perform(request)
        #expect(response.status == 431)
        #expect(response.headers["Connection"] == "close")
    }

    @Test func aTLSClientOnThePlainPortFailsAtOnce() throws {
        let server = try startServer()
        defer { server.stop() }
        let start = ContinuousClock.now
        #expect {
            _ = try HTTPClient.perform(HTTPRequest(url: "https://\(server.address)/__down?bytes=0"))
        } throws: { error in
            (error as? HTTPError)?.kind == .tls
        }
        #expect(ContinuousClock.now - start < .seconds(2))
    }
}
