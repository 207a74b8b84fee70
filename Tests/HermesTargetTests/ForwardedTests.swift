import Foundation
import HermesHTTP
import Testing

@testable import HermesTarget

/// Behind a TLS front (nginx/hermes-target.conf) the addresses in hermes-target's answers name
/// the front, from `X-Forwarded-Proto` and `X-Forwarded-Host`, and the client is the one the
/// front names in `X-Forwarded-For`, believed only from a front on this host.
@Suite struct ForwardedTests {
    private func get(_ server: TargetServer, _ path: String, _ headers: HTTPHeaders = [:]) throws -> String {
        let response = try HTTPClient.perform(
            HTTPRequest(url: server.baseURL + path, headers: headers, responseBody: .collect(limit: 1 << 20)))
        #expect(response.status == 200, "\(path)")
        return String(decoding: response.body, as: UTF8.self)
    }

    private func urls(_ text: String) throws -> [String: String] {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        return try #require(json["urls"] as? [String: String])
    }

    @Test func theConfigurationNamesTheOriginTheClientUsed() throws {
        let server = try TargetServer.startOnLoopback()
        defer { server.stop() }
        let direct = try urls(get(server, "/.well-known/nq"))
        #expect(direct["small_download_url"] == server.baseURL + "/small")
        #expect(direct["https_upload_url"] == server.baseURL + "/slurp")

        let front: HTTPHeaders = ["X-Forwarded-Proto": "https", "X-Forwarded-Host": "nq.example.net"]
        let fronted = try urls(get(server, "/.well-known/nq", front))
        #expect(fronted.count == 6)
        for (key, url) in fronted {
            let path = key.contains("upload") ? "/slurp" : key.hasPrefix("small") ? "/small" : "/large"
            #expect(url == "https://nq.example.net" + path, "\(key)")
        }
        let list = try get(server, "/servers.json", front)
        #expect(list.contains(#""server":"https://nq.example.net/""#), "\(list)")
        #expect(try get(server, "/cdn-cgi/trace", front).contains("visit_scheme=https\n"))
        // Only https changes the scheme; the first of several values is the client's.
        let odd = try urls(get(server, "/.well-known/nq", ["X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "a, b"]))
        #expect(odd["large_download_url"] == "http://a/large")
    }

    /// `/meta`'s `httpProtocol` and the trace's `http` and `tls` are this server's own (HTTP/1.1,
    /// no TLS) unless a front names what the client spoke to it; TLS only over https.
    @Test func theProtocolsAreWhatTheClientSpokeToTheFront() throws {
        let server = try TargetServer.startOnLoopback()
        defer { server.stop() }
        #expect(try get(server, "/meta").contains(#""httpProtocol":"HTTP/1.1""#))
        let direct = try get(server, "/cdn-cgi/trace")
        #expect(direct.contains("\nhttp=http/1.1\n") && direct.contains("\ntls=off\n"), "\(direct)")

        let front: HTTPHeaders = [
            "X-Forwarded-Proto": "https", "X-Forwarded-HTTP": "HTTP/2.0", "X-Forwarded-TLS": "TLSv1.3",
        ]
        #expect(try get(server, "/meta", front).contains(#""httpProtocol":"HTTP/2""#))
        let fronted = try get(server, "/cdn-cgi/trace", front)
        #expect(fronted.contains("\nhttp=h2\n") && fronted.contains("\ntls=TLSv1.3\n"), "\(fronted)")
        let three = try get(server, "/cdn-cgi/trace", ["X-Forwarded-HTTP": "HTTP/3.0"])
        #expect(three.contains("\nhttp=http/3\n"), "\(three)")

        // TLS without https, or a version that is not one, is none.
        let plain = try get(server, "/cdn-cgi/trace", ["X-Forwarded-TLS": "TLSv1.3"])
        #expect(plain.contains("\ntls=off\n"), "\(plain)")
        let odd = try get(
            server, "/cdn-cgi/trace", ["X-Forwarded-Proto": "https", "X-Forwarded-TLS": "SSLv3"])
        #expect(odd.contains("\ntls=off\n"), "\(odd)")
        for version in ["TLSv", "TLSv١٫٣"] {
            let bogus = try get(server, "/cdn-cgi/trace", ["X-Forwarded-Proto": "https", "X-Forwarded-TLS": version])
            #expect(bogus.contains("\ntls=off\n"), "\(version): \(bogus)")
        }
    }

    @Test func aFrontOnThisHostNamesTheClient() throws {
        let server = try TargetServer.startOnLoopback()
        defer { server.stop() }
        // The last address is the one the front saw; earlier ones are what the client claimed.
        let meta = try get(server, "/meta", ["X-Forwarded-For": "10.0.0.1, 192.0.2.7"])
        #expect(meta.contains(#""clientIp":"192.0.2.7""#), "\(meta)")
        let ip = try get(server, "/getIP", ["X-Forwarded-For": "2001:db8::7"])
        #expect(ip.contains("2001:db8::7"), "\(ip)")
        let bogus = try get(server, "/meta", ["X-Forwarded-For": "<script>"])
        #expect(bogus.contains(#""clientIp":"127.0.0.1""#), "\(bogus)")
    }

    /// A lone CR or LF, or a NUL, inside a header line is malformed (400): a forwarded host of
    /// `a\nip=6.6.6.6` must not become a line of its own in the trace's `key=value` answer.
    @Test(arguments: ["a\nip=6.6.6.6", "a\rip=6.6.6.6", "a\u{0}b"])
    func aHeaderWithALineBreakInsideIsMalformed(host: String) {
        let head = "GET /cdn-cgi/trace HTTP/1.1\r\nHost: h\r\nX-Forwarded-Host: \(host)\r\nAccept: */*"
        #expect(Request.parse(ArraySlice(head.utf8)) == nil)
        let clean = "GET /cdn-cgi/trace HTTP/1.1\r\nHost: h\r\nX-Forwarded-Host: a\r\nAccept: */*"
        #expect(Request.parse(ArraySlice(clean.utf8))?.header("x-forwarded-host") == "a")
    }

    @Test(arguments: [
        ("127.0.0.1", "192.0.2.7", "192.0.2.7"), ("::1", "2001:db8::1", "2001:db8::1"),
        ("127.0.0.1", "203.0.113.9, 192.0.2.7", "192.0.2.7"), ("127.0.0.1", "192.0.2.7, junk", "127.0.0.1"),
        ("::ffff:127.0.0.1", "192.0.2.7", "192.0.2.7"), ("192.0.2.1", "198.51.100.2", "192.0.2.1"),
        ("2001:db8::2", "198.51.100.2", "2001:db8::2"), ("127.0.0.1", "unknown", "127.0.0.1"),
        ("127.0.0.1", nil, "127.0.0.1"),
    ])
    func onlyALoopbackPeerIsBelieved(peer: String, forwardedFor: String?, client: String) {
        #expect(Exchange.clientAddress(peer: peer, forwardedFor: forwardedFor) == client)
    }
}
