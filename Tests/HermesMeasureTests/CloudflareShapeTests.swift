import HermesCore
import HermesTarget
import HermesTestSupport
import Testing

@testable import HermesMeasure

/// The shapes speed.cloudflare.com has answered in over the years, as hermes-target serves them
/// (`--server-timing`) and as recorded `/meta` bodies: each one read, and the record says which
/// server time it subtracted.
@Suite struct CloudflareShapeTests {
    let scratch: TemporaryDirectory
    init() throws { scratch = try TemporaryDirectory() }

    /// A Cloudflare-style server that answers every request with `timing` as its Server-Timing
    /// (nil: none) and /meta in the service's current shape.
    static func server(timing: String?) throws -> TestServer {
        try TestServer.start(keptBodyBytes: 0) { request in
            let headers = timing.map { [("Server-Timing", $0)] } ?? []
            switch request.path {
            case "/__down":
                return .respond(
                    status: 200, reason: "OK", headers: headers,
                    body: Array(repeating: 0x55, count: request.query("bytes") ?? 0))
            case "/__up":
                return .respond(status: 200, reason: "OK", headers: headers, body: [])
            case "/meta":
                return .ok(
                    #"{"clientIp":"127.0.0.1","asn":64500,"asOrganization":"Test ISP","country":"DE","city":"Kassel","colo":{"iata":"FRA","city":"Frankfurt","cca2":"DE"}}"#
                )
            default:
                return .respond(status: 404, reason: "Not Found", headers: [], body: [])
            }
        }
    }

    @Test(arguments: [
        ("cfRequestDuration;dur=3.500000", "cfRequestDuration"),
        (#"cfRequestDuration;dur=3.500000, cfL4;desc="?proto=TCP&rtt=90""#, "cfRequestDuration"),
        (#"cfSpeedEdge;dur=1, cfSpeedWorker;dur=2, cfL4;desc="?proto=TCP&rtt=90""#, "cfSpeedEdge+cfSpeedWorker"),
        (#"cfL4;desc="?proto=TCP&rtt=90""#, "none"),
        (nil, "none"),
    ])
    func theRecordSaysWhichServerTimeWasSubtracted(timing: String?, expected: String) throws {
        let server = try Self.server(timing: timing)
        defer { server.stop() }
        let record = try briefMeasure(in: scratch, server: server.baseURL)
        let result = try #require(record.result, "\(record)")
        #expect(result.extensions.serverTiming == expected)
        // 3 ms subtracted from a loopback round trip of a fraction of one leaves nothing.
        if expected != "none" { #expect(result.pingMs == 0, "\(result.pingMs)") }
        #expect(result.serverID == "FRA" && result.serverLocation == "Frankfurt, DE")
        #expect(result.ispName == "Test ISP")
        // /meta asked as the service requires, with its page as the Referer.
        let meta = server.requests.first { $0.path == "/meta" }
        #expect(meta?.headers.first { $0.name.lowercased() == "referer" }?.value == server.baseURL + "/")
    }

    /// hermes-target's /meta is the service's current shape: the data centre's own place.
    @Test func hermesTargetIsReadAsTheServiceIs() throws {
        let server = try startTarget { $0.serverTiming = .edgeWorker }
        defer { server.stop() }
        let record = try briefMeasure(in: scratch, server: server.baseURL)
        let result = try #require(record.result, "\(record)")
        #expect(result.serverID == "LOCAL")
        #expect(result.serverLocation == "Localhost, ZZ")
        // Whole milliseconds of a loopback answer are 0 + 0: nothing to subtract.
        #expect(result.extensions.serverTiming == "none")
    }

    /// The service's edge and worker times are both the server's: their sum is subtracted.
    @Test func edgeAndWorkerTimesAreSummedAndSubtracted() throws {
        let header = "cfSpeedEdge;dur=1, cfSpeedWorker;dur=3, cfL4;desc=\"?proto=TCP&rtt=120\""
        #expect(
            ServerTiming.serverTime(in: header)
                == ServerTime(duration: .milliseconds(4), source: "cfSpeedEdge+cfSpeedWorker"))
    }

    @Test(arguments: [
        // Now: the data centre an object; city and country beside it are the client's.
        (
            #"{"hostname":"speed.cloudflare.com","clientIp":"2401:4900::1","httpProtocol":"HTTP/1.1","asn":24560,"asOrganization":"Bharti Airtel Limited","country":"IN","city":"Patna","region":"Bihar","postalCode":"800001","latitude":"25.59408","longitude":"85.13563","colo":{"iata":"CCU","lat":22.65,"lon":88.44,"cca2":"IN","region":"Asia Pacific","city":"Kolkata"}}"#,
            "CCU", "Kolkata, IN", "Bharti Airtel Limited", "2401:4900::1"
        ),
        // Before: the IATA code as a string, the ASN as a string.
        (
            #"{"clientIp":"192.0.2.7","asn":"13335","asOrganization":"Cloudflare","colo":"MAA","city":"Chennai","country":"IN"}"#,
            "MAA", "Chennai, IN", "Cloudflare", "192.0.2.7"
        ),
    ])
    func metaIsReadInEveryShape(body: String, colo: String, location: String, isp: String, clientIP: String) throws {
        guard case .object(let object) = try JSONParser.parse(body) else {
            Issue.record("not an object")
            return
        }
        var server = ServerDescription(name: "speed.cloudflare.com")
        CloudflareEngine.read(meta: object, into: &server)
        #expect(server.id == colo)
        #expect(server.location == location)
        #expect(server.isp == isp)
        #expect(server.clientIP == clientIP)
    }
}
