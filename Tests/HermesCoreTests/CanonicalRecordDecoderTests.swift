import Testing

@testable import HermesCore

/// The fast path for canonical records must never change an outcome: whatever it decodes, the
/// general path decodes to the same record, and whatever it declines (errors included) reaches
/// the general path unchanged.
@Suite struct CanonicalRecordDecoderTests {
    /// The outcome of the general path alone, of the fast path alone, and of both as RecordReader
    /// runs them.
    struct Outcomes {
        var general: Result<RecordDecoder.Outcome?, RecordDecoder.Rejection>
        var fast: Record?
        var combined: Result<RecordDecoder.Outcome?, RecordDecoder.Rejection>
    }

    static func outcomes(_ line: String, decoder: CanonicalRecordDecoder = CanonicalRecordDecoder()) -> Outcomes {
        var copy = line
        return copy.withUTF8 { bytes in
            Outcomes(
                general: RecordReader.decode(line: bytes, canonical: nil), fast: decoder.decode(bytes),
                combined: RecordReader.decode(line: bytes, canonical: decoder))
        }
    }

    /// Checks one line; true when the fast path took it.
    @discardableResult
    static func expectSameOutcome(
        _ line: String, decoder: CanonicalRecordDecoder, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        let outcomes = outcomes(line, decoder: decoder)
        #expect(outcomes.combined == outcomes.general, "\(line)", sourceLocation: sourceLocation)
        if let fast = outcomes.fast {
            #expect(outcomes.general == .success(.record(fast)), "\(line)", sourceLocation: sourceLocation)
            return true
        }
        return false
    }

    static let result =
        #"{"v":1,"type":"result","timestamp":"2024-08-14T12:30:00.566Z","download_mbps":89.99,"upload_mbps":14.26,"ping_ms":64.23,"jitter_ms":0.71,"isp_name":"Starlink","server_name":"Init7 AG","server_location":"Winterthur, Switzerland","server_id":"43030","engine":"ookla-cli","server_url":"https://speedtest.init7.net:8080","client_ip":"192.0.2.88","probe":"cabin-pi","download_latency_ms":160.54,"upload_latency_ms":148.038,"packet_loss_pct":1.42,"download_bytes":92545716,"upload_bytes":14664984,"duration_ms":10284,"streams":6}"#
    static let failure =
        #"{"v":1,"type":"failure","timestamp":"2024-08-19T07:00:00.245Z","error":"TLS handshake with https://speedtest.init7.net:8080 failed: certificate has expired","error_kind":"tls","engine":"ookla-cli","server_url":"https://speedtest.init7.net:8080","probe":"office-berlin"}"#

    @Test(arguments: [
        result, failure,
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":10}"#,
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00+02:00","ping_ms":0,"server_id":52365}"#,
        #"{ "v": 1, "type": "result", "timestamp": "2026-05-01T12:00:00.000Z", "ping_ms": 1.5e1 }"#,
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00.000Z","download_mbps":null,"ping_ms":2,"isp_name":"Zürich Netz ✓"}"#,
        #"{"v":1,"type":"failure","timestamp":"2026-05-01T12:00:00.000Z","error":"x","error_kind":"rate_limited"}"#,
        // The fast path sees the line untrimmed: surrounding whitespace and a CR are its to skip.
        " \t\r" + #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":10}"# + " \t\r",
    ])
    func plainCanonicalLinesTakeTheFastPath(line: String) {
        #expect(Self.expectSameOutcome(line, decoder: CanonicalRecordDecoder()), "declined: \(line)")
    }

    @Test(arguments: [
        // Escapes, unknown keys, duplicates and keys out of order are left to the general path.
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"isp_name":"ACME \"Fibre\""}"#,
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"isp_name":"\u00fcber"}"#,
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"colour":"blue"}"#,
        // The general path strips a byte order mark, then tries the fast one.
        "\u{FEFF}" + #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1}"#,
        #"{"v":1,"type":"result","ping_ms":1,"timestamp":"2026-05-01T12:00:00Z"}"#,
        #"{"type":"result","v":1,"timestamp":"2026-05-01T12:00:00Z","ping_ms":1}"#,
        #"{"v":1,"type":"failure","timestamp":"2026-05-01T12:00:00Z","error":"x","error_kind":"dns","ping_ms":1}"#,
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"download_mbps":2}"#,
    ])
    func unusualLinesAreLeftToTheGeneralPath(line: String) {
        let outcomes = Self.outcomes(line)
        #expect(outcomes.fast == nil)
        #expect(outcomes.combined == outcomes.general)
        guard case .success(.some(.record)) = outcomes.general else {
            Issue.record("the general path should decode \(line): \(outcomes.general)")
            return
        }
    }

    @Test(arguments: [
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"ping_ms":2}"#,
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"timestamp":"2026-05-01T12:00:00Z"}"#,
        #"{"v":1,"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1}"#,
    ])
    func repeatedKeysAreRejectedByTheGeneralPath(line: String) {
        let outcomes = Self.outcomes(line)
        #expect(outcomes.fast == nil)
        #expect(outcomes.combined == outcomes.general)
        guard case .failure(let rejection) = outcomes.combined else {
            Issue.record("\(line) was not rejected")
            return
        }
        #expect(rejection.reason.contains("duplicate key"))
    }

    /// Every prefix of a record, and every byte replaced by each of a set of troublemakers: the
    /// fast path declines or agrees, and the message of every rejection is the general path's.
    @Test(arguments: [result, failure])
    func damagedLinesGetTheGeneralPathsOutcome(line: String) {
        let decoder = CanonicalRecordDecoder()
        let bytes = Array(line.utf8)
        let replacements: [UInt8] = [
            0x22, 0x5C, 0x2C, 0x3A, 0x7D, 0x7B, 0x20, 0x30, 0x31, 0x39, 0x2D, 0x2E, 0x65, 0x6E, 0x78, 0x01, 0x7F,
            0xC3, 0xFF,
        ]
        for end in 0...bytes.count {
            Self.expectSameOutcome(String(decoding: bytes[..<end], as: UTF8.self), decoder: decoder)
        }
        for position in bytes.indices {
            for replacement in replacements where replacement != bytes[position] {
                var damaged = bytes
                damaged[position] = replacement
                let outcomes = Self.outcomes(bytes: damaged, decoder: decoder)
                #expect(outcomes.combined == outcomes.general, "byte \(position) as \(replacement)")
                if let fast = outcomes.fast { #expect(outcomes.general == .success(.record(fast))) }
            }
        }
    }

    /// Raw bytes, for damage that is not valid UTF-8 and so cannot go through a String.
    static func outcomes(bytes: [UInt8], decoder: CanonicalRecordDecoder) -> Outcomes {
        bytes.withUnsafeBufferPointer { buffer in
            Outcomes(
                general: RecordReader.decode(line: buffer, canonical: nil), fast: decoder.decode(buffer),
                combined: RecordReader.decode(line: buffer, canonical: decoder))
        }
    }

    /// Thousands of generated lines mixing good and bad values of every field, unknown and repeated
    /// keys, whitespace and reordering.
    @Test func generatedLinesGetTheGeneralPathsOutcome() {
        let decoder = CanonicalRecordDecoder()
        var generator = LineGenerator(seed: 0x5EED)
        var taken = 0
        let count = 6000
        for _ in 0..<count where Self.expectSameOutcome(generator.next(), decoder: decoder) { taken += 1 }
        // The mix is meant to exercise both paths; a fast path that declined everything would pass
        // the comparisons above and speed nothing up.
        #expect(taken > count / 10)
        #expect(taken < count * 9 / 10)
    }

    /// Lines Hermes itself writes, with many distinct texts (more than the interner holds) so that
    /// shared strings are evicted and reused: all are taken, and all decode to the records written.
    @Test func encodedRecordsAreTakenAndRoundTrip() throws {
        let decoder = CanonicalRecordDecoder()
        for index in 0..<3000 {
            let record = Record.result(
                SpeedResult(
                    timestamp: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000 + Int64(index) * 1_800_123),
                    downloadMbps: Double(index) / 7, uploadMbps: index % 5 == 0 ? nil : 1e-7 * Double(index),
                    pingMs: 3.25, jitterMs: index % 3 == 0 ? nil : 0.5, ispName: "isp-\(index % 700)",
                    serverName: "server \(index % 11) – München",
                    serverLocation: String(repeating: "x", count: index % 130),
                    serverID: index % 2 == 0 ? nil : "\(index)",
                    extensions: SpeedResult.Extensions(
                        engine: "cloudflare", probe: "probe-\(index)", packetLossPct: index % 4 == 0 ? 0 : 100,
                        downloadBytes: Int64(index) * 1_000_003, streams: 8)))
            let line = String(RecordEncoder.line(record).dropLast())
            let outcomes = Self.outcomes(line, decoder: decoder)
            #expect(outcomes.fast == record, "\(line)")
            #expect(outcomes.general == .success(.record(record)))
        }
    }

    @Test func internerGivesBackTheTextItWasGiven() {
        let interner = StringInterner()
        let texts =
            ["", "a", "probe", "Zürich", String(repeating: "long", count: 40)] + (0..<2000).map { "text-\($0)" }
        for _ in 0..<2 {
            for text in texts {
                let bytes = Array(text.utf8)
                let isASCII = bytes.allSatisfy { $0 < 0x80 }
                #expect(bytes.withUnsafeBufferPointer { interner.string($0, isASCII: isASCII) } == text)
            }
        }
        #expect([UInt8]([0x61, 0xFF]).withUnsafeBufferPointer { interner.string($0, isASCII: false) } == nil)
    }
}

/// Canonical-looking lines from a seeded generator; most values are good, some are not.
struct LineGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// SplitMix64: reproducible without Foundation.
    private mutating func random() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    private mutating func chance(_ probability: Double) -> Bool {
        Double(random() % 1_000_000) < probability * 1_000_000
    }

    private mutating func pick(_ good: [String], _ bad: [String]) -> String {
        let pool = bad.isEmpty || chance(0.985) ? good : bad
        return pool[Int(random() % UInt64(pool.count))]
    }

    static let timestamps = [
        #""2024-08-14T12:30:00.566Z""#, #""2026-05-01T12:00:00Z""#, #""2026-05-01T14:00:00+02:00""#,
        #""2024-02-29T23:59:59.999Z""#, #""2026-05-01t12:00:00.000z""#, #""1970-01-01T00:00:00.000Z""#,
    ]
    static let badTimestamps = [
        #""2026-02-30T00:00:00.000Z""#, #""9999-12-31T23:59:60.999Z""#, #""2026-05-01T24:00:00.000Z""#,
        #""2026-05-01T12:00:00.000""#, #""2026-05-01T12:00:0x.000Z""#, "1714564800", "null", #""""#,
    ]
    static let measures = ["12.5", "0", "-0.0", "1e3", "1.5E-2", "0.1", "null", "931.4", "7", "123456789.123456789"]
    static let badMeasures = ["-1", #""7""#, "01", "1.", "true", "NaN", "-Infinity", "1e999", "[1]", "{}", "nul"]
    static let texts = [
        #""Init7""#, #""Zürich Netz""#, #""""#, "null", #""https://speed.example.net/backend""#,
        "\"" + String(repeating: "long text ", count: 12) + "\"",
    ]
    /// Good strings the fast path leaves to the general one.
    static let escapedTexts = [#""a\"b""#, #""\u00fcber""#, #""x\ud83d\ude00""#, #""\/path""#]
    static let badTexts = ["5", "true", #""tab\x""#, #""\ud83d""#, "\"unterminated", "[]"]
    static let counts = ["0", "42", "1.0e9", "null", "9223372036854775807", "92545716"]
    static let badCounts = ["2.5", "-5", "1e19", #""3""#, "-0.5"]
    static let serverIDs = [#""43030""#, "52365", "null", #""7""#]
    static let badServerIDs = ["1.5", "true", "-1e2"]
    static let errorKinds = [#""dns""#, #""timeout""#, #""rate_limited""#, #""no_server""#, #""internal""#]
    static let badErrorKinds = [#""gremlins""#, "null", "3", #""DNS""#]

    private mutating func text() -> String {
        chance(0.02) ? pick(Self.escapedTexts, []) : pick(Self.texts, Self.badTexts)
    }

    mutating func next() -> String {
        let isFailure = chance(0.3)
        var members: [(String, String)] = []
        members.append(("v", pick(["1"], ["1.0", "2", #""1""#, "null", "-1"])))
        members.append(("type", isFailure ? #""failure""# : pick([#""result""#], [#""thing""#, "1", #""Result""#])))
        members.append(("timestamp", pick(Self.timestamps, Self.badTimestamps)))
        if isFailure {
            members.append(
                ("error", pick([#""could not connect""#, #""Zeitüberschreitung""#, #""a\nb""#], [#""""#, "null"])))
            members.append(("error_kind", pick(Self.errorKinds, Self.badErrorKinds)))
            for key in ["engine", "server_url", "probe"] where chance(0.8) {
                members.append((key, text()))
            }
        } else {
            for key in ["download_mbps", "upload_mbps"] where chance(0.9) {
                members.append((key, pick(Self.measures, Self.badMeasures)))
            }
            if chance(0.97) { members.append(("ping_ms", pick(Self.measures.filter { $0 != "null" }, ["null"]))) }
            if chance(0.9) { members.append(("jitter_ms", pick(Self.measures, Self.badMeasures))) }
            for key in ["isp_name", "server_name", "server_location"] where chance(0.9) {
                members.append((key, text()))
            }
            if chance(0.9) { members.append(("server_id", pick(Self.serverIDs, Self.badServerIDs))) }
            for key in ["engine", "server_url", "client_ip", "probe"] where chance(0.8) {
                members.append((key, text()))
            }
            for key in ["download_latency_ms", "upload_latency_ms"] where chance(0.8) {
                members.append((key, pick(Self.measures, Self.badMeasures)))
            }
            if chance(0.8) { members.append(("packet_loss_pct", pick(Self.measures, ["100.5", "101", "-1"]))) }
            for key in ["download_bytes", "upload_bytes", "duration_ms", "streams"] where chance(0.8) {
                members.append((key, pick(Self.counts, Self.badCounts)))
            }
        }
        if chance(0.05) { members.removeFirst() }
        if chance(0.08) {
            let position = Int(random() % UInt64(members.count + 1))
            members.insert(("zeta", pick([#"{"n":[1,2.5,"s",null]}"#, "true", #""x""#], [])), at: position)
        }
        if chance(0.05) { members.append(members[Int(random() % UInt64(members.count))]) }
        if chance(0.05), members.count > 3 {
            members.swapAt(Int(random() % UInt64(members.count)), Int(random() % UInt64(members.count)))
        }
        let spaced = chance(0.15)
        let body = members.map { "\"\($0.0)\"" + (spaced ? ": " : ":") + $0.1 }.joined(separator: spaced ? ", " : ",")
        return "{" + body + "}" + (chance(0.03) ? pick([" ", "x", "}", ",", " \t"], []) : "")
    }
}
