import HermesCore

/// Realistic canonical v1 records: one test every 30 minutes up to 2026-05-01T12:00Z, about 2 %
/// failures, several probes, engines and servers; the same seed gives the same records.
struct RecordGenerator: Sequence, IteratorProtocol {
    static let spacingMilliseconds: Int64 = 30 * 60 * 1000
    static let last = Timestamp(millisecondsSinceEpoch: 1_777_636_800_000)
    static let failureRate = 0.02

    private let count: Int
    private let first: Timestamp
    private var index = 0
    private var random: SeededRandom

    init(count: Int, seed: UInt64) {
        self.count = count
        first = Self.last.adding(milliseconds: -Int64(Swift.max(count - 1, 0)) * Self.spacingMilliseconds)
        random = SeededRandom(seed: seed)
    }

    mutating func next() -> Record? {
        guard index < count else { return nil }
        // Under a second of jitter exercises the milliseconds yet keeps times unique and ordered.
        let timestamp = first.adding(
            milliseconds: Int64(index) * Self.spacingMilliseconds + Int64.random(in: 0..<1000, using: &random))
        index += 1
        let probe = random.element(of: Self.probes)
        let server = random.element(of: Self.servers)
        if random.chance(Self.failureRate) {
            return .failure(failure(at: timestamp, probe: probe, server: server))
        }
        return .result(result(at: timestamp, probe: probe, server: server))
    }

    private mutating func result(at timestamp: Timestamp, probe: Probe, server: Server) -> SpeedResult {
        let download = random.measure(probe.downloadMbps * 0.55...probe.downloadMbps, places: 2)
        let upload = random.chance(0.01) ? nil : random.measure(probe.uploadMbps * 0.6...probe.uploadMbps, places: 2)
        let ping = random.measure(probe.pingMs...probe.pingMs * 4, places: 3)
        let durationMs = Int64.random(in: 8_000...16_000, using: &random)
        let bytesPerMbps = 125_000 * Double(durationMs) / 1000 * 0.8
        let extensions = SpeedResult.Extensions(
            engine: server.engine, serverURL: server.url, clientIP: probe.clientIP, probe: probe.name,
            downloadLatencyMs: random.measure(ping + 5...ping + 120, places: 3),
            uploadLatencyMs: upload == nil ? nil : random.measure(ping + 5...ping + 200, places: 3),
            packetLossPct: random.chance(0.9) ? 0 : random.measure(0.1...3, places: 2),
            downloadBytes: Int64(download * bytesPerMbps),
            uploadBytes: upload.map { Int64($0 * bytesPerMbps) },
            durationMs: durationMs,
            streams: random.element(of: [4, 6, 8]))
        return SpeedResult(
            timestamp: timestamp, downloadMbps: download, uploadMbps: upload, pingMs: ping,
            jitterMs: random.chance(0.05) ? nil : random.measure(0.05...4, places: 3), ispName: probe.isp,
            serverName: server.name, serverLocation: server.location, serverID: server.id, extensions: extensions)
    }

    private mutating func failure(at timestamp: Timestamp, probe: Probe, server: Server) -> MeasurementFailure {
        let kinds: [MeasurementFailure.ErrorKind] = [.timeout, .timeout, .dns, .connect, .tls, .http, .rateLimited]
        let kind = random.element(of: kinds)
        let error =
            switch kind {
            case .dns: "could not resolve the host of \(server.url)"
            case .connect: "could not connect to \(server.url): connection refused"
            case .tls: "TLS handshake with \(server.url) failed: certificate has expired"
            case .http: "\(server.url) answered HTTP 503 Service Unavailable"
            case .rateLimited: "\(server.url) rate-limited the test (HTTP 429)"
            default: "download from \(server.url) timed out after 30 s"
            }
        return MeasurementFailure(
            timestamp: timestamp, error: error, errorKind: kind, engine: server.engine, serverURL: server.url,
            probe: probe.name)
    }

    private struct Probe {
        var name: String
        var isp: String
        var clientIP: String
        var downloadMbps: Double
        var uploadMbps: Double
        var pingMs: Double
    }

    private static let probes = [
        Probe(
            name: "home-zurich", isp: "Init7", clientIP: "203.0.113.17", downloadMbps: 940, uploadMbps: 930,
            pingMs: 3),
        Probe(
            name: "office-berlin", isp: "Deutsche Telekom", clientIP: "198.51.100.42", downloadMbps: 250,
            uploadMbps: 40, pingMs: 9),
        Probe(
            name: "cabin-pi", isp: "Starlink", clientIP: "192.0.2.88", downloadMbps: 120, uploadMbps: 15,
            pingMs: 25),
    ]

    private struct Server {
        var engine: String
        var name: String
        var location: String
        var id: String?
        var url: String
    }

    private static let servers = [
        Server(
            engine: "cloudflare", name: "Cloudflare", location: "Zurich, Switzerland", id: nil,
            url: "https://speed.cloudflare.com"),
        Server(
            engine: "librespeed", name: "Hermes target", location: "Frankfurt, Germany", id: "7",
            url: "https://speed.example.net/backend"),
        Server(
            engine: "ookla-cli", name: "Init7 AG", location: "Winterthur, Switzerland", id: "43030",
            url: "https://speedtest.init7.net:8080"),
    ]
}
