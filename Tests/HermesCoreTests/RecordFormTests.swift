import Testing

@testable import HermesCore

/// Decodes one line the way every tool does, failing the test on a rejection.
func decodeRecord(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) -> Record? {
    let items = RecordReader.decodeAll(line)
    guard items.count == 1, case .record(let record, _) = items[0] else {
        Issue.record("expected one record from \(line), got \(items)", sourceLocation: sourceLocation)
        return nil
    }
    return record
}

func rejection(_ line: String) -> String? {
    let items = RecordReader.decodeAll(line)
    guard items.count == 1, case .rejected(_, let reason) = items[0] else { return nil }
    return reason
}

@Suite struct CanonicalRecordTests {
    static let fullResult =
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00.123Z","download_mbps":931.4,"upload_mbps":40.25,"ping_ms":9.8,"jitter_ms":0.5,"isp_name":"ACME \"Fibre\"","server_name":"Berlin-1","server_location":"Berlin, Germany","server_id":"1234","engine":"cloudflare","server_url":"https://speed.example/","client_ip":"203.0.113.9","probe":"attic-pi","download_latency_ms":40.1,"upload_latency_ms":80.2,"packet_loss_pct":0.5,"download_bytes":1402335000,"upload_bytes":52000000,"duration_ms":21000,"streams":8}"#
    static let failure =
        #"{"v":1,"type":"failure","timestamp":"2026-05-01T12:00:00.000Z","error":"could not resolve speed.cloudflare.com","error_kind":"dns","engine":"cloudflare","server_url":"https://speed.cloudflare.com/","probe":"attic-pi"}"#

    @Test(arguments: [fullResult, failure])
    func roundTripsByteForByte(line: String) throws {
        let record = try #require(decodeRecord(line))
        #expect(RecordEncoder.line(record) == line + "\n")
    }

    @Test func minimalResultGetsNullsNotZeros() throws {
        let record = try #require(
            decodeRecord(#"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":10}"#))
        #expect(
            RecordEncoder.line(record)
                == #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00.000Z","download_mbps":null,"upload_mbps":null,"ping_ms":10.0,"jitter_ms":null,"isp_name":null,"server_name":"","server_location":"","server_id":null}"#
                + "\n")
    }

    @Test func unknownFieldsArePassedOnInOrder() throws {
        let line =
            #"{"v":1,"type":"failure","timestamp":"2026-05-01T12:00:00.000Z","error":"x","error_kind":"timeout","zeta":{"n":[1,2.5,"s",null]},"alpha":true}"#
        let record = try #require(decodeRecord(line))
        #expect(RecordEncoder.line(record) == line + "\n")
    }

    @Test func integerServerIDBecomesAString() throws {
        let record = try #require(
            decodeRecord(#"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"server_id":52365}"#))
        guard case .result(let result) = record else { return }
        #expect(result.serverID == "52365")
    }

    @Test(arguments: [
        ("[1]", "expected a JSON object, got an array"),
        (#"{"v":2,"type":"result"}"#, "unsupported schema version 2"),
        (#"{"v":"1","type":"result"}"#, "\"v\" must be the integer 1"),
        (#"{"v":1}"#, "missing required field \"type\""),
        (#"{"v":1,"type":"thing","timestamp":"2026-05-01T12:00:00Z"}"#, "unknown record type \"thing\""),
        (#"{"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1}"#, "missing required field \"v\""),
        (#"{"v":1,"type":"result","ping_ms":1}"#, "missing required field \"timestamp\""),
        (#"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z"}"#, "missing required field \"ping_ms\""),
        (
            #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":null}"#,
            "\"ping_ms\" must be a number, got null"
        ),
        (
            #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":"12"}"#,
            "\"ping_ms\" must be a number or null, got a string"
        ),
        (
            #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"download_mbps":-1}"#,
            "\"download_mbps\" must not be negative, got -1.0"
        ),
        (
            #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"download_mbps":NaN}"#,
            "NaN is not a number JSON allows"
        ),
        (
            #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"upload_mbps":Infinity}"#,
            "Infinity is not a number JSON allows"
        ),
        (#"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00","ping_ms":1}"#, "has no UTC offset"),
        (#"{"v":1,"type":"result","timestamp":"May 1","ping_ms":1}"#, "is not an RFC 3339 time"),
        (
            #"{"v":1,"type":"result","timestamp":1714564800,"ping_ms":1}"#,
            "\"timestamp\" must be a string, got a number"
        ),
        (
            #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"server_name":7}"#,
            "\"server_name\" must be a string or null"
        ),
        (
            #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"server_id":1.5}"#,
            "\"server_id\" must be a string, an integer or null"
        ),
        (
            #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"streams":2.5}"#,
            "\"streams\" must be a non-negative integer or null, got 2.5"
        ),
        (
            #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"download_bytes":-5}"#,
            "\"download_bytes\" must be a non-negative integer or null, got -5"
        ),
        (
            #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00Z","ping_ms":1,"packet_loss_pct":101}"#,
            "\"packet_loss_pct\" must be at most 100"
        ),
        (
            #"{"v":1,"type":"failure","timestamp":"2026-05-01T12:00:00Z","error":"x","error_kind":"gremlins"}"#,
            "unknown \"error_kind\" \"gremlins\""
        ),
        (
            #"{"v":1,"type":"failure","timestamp":"2026-05-01T12:00:00Z","error_kind":"dns"}"#,
            "missing required field \"error\""
        ),
        (
            #"{"v":1,"type":"failure","timestamp":"2026-05-01T12:00:00Z","error":"","error_kind":"dns"}"#,
            "\"error\" must describe what failed"
        ),
        (#"{"hello":"world"}"#, "not a Hermes record"),
        ("{", "invalid JSON"),
    ])
    func rejectsWithTheReason(line: String, reason: String) throws {
        let actual = try #require(rejection(line), "\(line) was not rejected")
        #expect(actual.contains(reason), "got: \(actual)")
    }
}

@Suite struct PythonHermesFormTests {
    @Test func toDictObjectIsConvertedWithItsOffsetNormalised() throws {
        let line =
            #"{"timestamp": "2026-05-01T14:00:00.123456+02:00", "download_mbps": 100.0, "upload_mbps": 50.0, "ping_ms": 12.5, "jitter_ms": null, "isp_name": "Test \"ISP\"", "server_name": "Berlin-1", "server_location": "Berlin, Germany", "server_id": 1234}"#
        let record = try #require(decodeRecord(line))
        #expect(
            RecordEncoder.line(record)
                == #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00.123Z","download_mbps":100.0,"upload_mbps":50.0,"ping_ms":12.5,"jitter_ms":null,"isp_name":"Test \"ISP\"","server_name":"Berlin-1","server_location":"Berlin, Germany","server_id":"1234"}"#
                + "\n")
    }

    @Test func requiresTheFieldsPythonAlwaysWrote() throws {
        let reason = try #require(
            rejection(
                #"{"timestamp":"2026-05-01T14:00:00+02:00","download_mbps":1,"ping_ms":1,"server_name":"","server_location":""}"#
            ))
        #expect(reason.contains("missing required field \"upload_mbps\" of a Python Hermes result"))
    }

    @Test func naiveTimestampsAreRefused() throws {
        let reason = try #require(
            rejection(
                #"{"timestamp":"2026-05-01T14:00:00","download_mbps":1,"upload_mbps":1,"ping_ms":1,"server_name":"","server_location":""}"#
            ))
        #expect(reason.contains("has no UTC offset"))
    }
}

@Suite struct OoklaFormTests {
    static let result =
        #"{"type":"result","timestamp":"2024-03-01T01:00:00Z","ping":{"jitter":0.512,"latency":9.804,"low":9.1,"high":12.0},"download":{"bandwidth":116425000,"bytes":1402335000,"elapsed":10000,"latency":{"iqm":39.5,"low":11.0,"high":120.3,"jitter":6.1}},"upload":{"bandwidth":5000000,"bytes":60000000,"elapsed":10000,"latency":{"iqm":80.25}},"packetLoss":1.5,"isp":"ACME","interface":{"internalIp":"192.168.1.2","name":"eth0","macAddr":"00:00:00:00:00:00","isVpn":false,"externalIp":"203.0.113.9"},"server":{"id":52365,"host":"speed.example.net","port":8080,"name":"Example ISP","location":"Berlin","country":"Germany","ip":"198.51.100.1"},"result":{"id":"abc","url":"https://www.speedtest.net/result/c/abc","persisted":true}}"#

    @Test func resultIsConvertedFromBytesPerSecond() throws {
        guard case .result(let result) = try #require(decodeRecord(Self.result)) else {
            Issue.record("expected a result")
            return
        }
        #expect(result.downloadMbps == 931.4)
        #expect(result.uploadMbps == 40)
        #expect(result.pingMs == 9.804)
        #expect(result.jitterMs == 0.512)
        #expect(result.ispName == "ACME")
        #expect(result.serverName == "Example ISP")
        #expect(result.serverLocation == "Berlin, Germany")
        #expect(result.serverID == "52365")
        #expect(result.timestamp.rfc3339 == "2024-03-01T01:00:00.000Z")
        #expect(result.extensions.engine == "ookla-cli")
        #expect(result.extensions.packetLossPct == 1.5)
        #expect(result.extensions.downloadLatencyMs == 39.5)
        #expect(result.extensions.uploadLatencyMs == 80.25)
        #expect(result.extensions.downloadBytes == 1_402_335_000)
        #expect(result.extensions.clientIP == "203.0.113.9")
    }

    @Test func missingPhasesAndLossAreNullNotZero() throws {
        let line =
            #"{"type":"result","timestamp":"2024-03-01T01:00:00Z","ping":{"latency":9.8},"download":{"bandwidth":125000},"server":{"name":"X"}}"#
        guard case .result(let result) = try #require(decodeRecord(line)) else { return }
        #expect(result.downloadMbps == 1)
        #expect(result.uploadMbps == nil)
        #expect(result.jitterMs == nil)
        #expect(result.extensions.packetLossPct == nil)
        #expect(result.serverLocation == "")
    }

    @Test func resultWithoutPingIsRejected() throws {
        let reason = try #require(
            rejection(#"{"type":"result","timestamp":"2024-03-01T01:00:00Z","download":{"bandwidth":1}}"#))
        #expect(reason.contains("Ookla result has no \"ping\" object"))
    }

    @Test(arguments: [
        ("Limit reached: Speedtest CLI. Too many requests received.", MeasurementFailure.ErrorKind.rateLimited),
        ("Configuration - Could not retrieve or read configuration (ConfigurationError)", .protocol),
        ("Cannot resolve host speedtest.example", .dns),
        ("Socket timeout while reading", .timeout),
        ("No servers defined (NoServersException)", .noServer),
        ("Cannot open socket: Cannot connect", .connect),
    ])
    func errorLogBecomesAFailure(message: String, kind: MeasurementFailure.ErrorKind) throws {
        let line = #"{"type":"log","timestamp":"2024-03-01T01:00:00Z","message":"\#(message)","level":"error"}"#
        guard case .failure(let failure) = try #require(decodeRecord(line)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.errorKind == kind)
        #expect(failure.error == "Ookla speedtest CLI: \(message)")
        #expect(failure.engine == "ookla-cli")
    }

    @Test func progressAndInfoLinesCarryNoRecord() {
        let lines = [
            #"{"type":"testStart","timestamp":"2024-03-01T01:00:00Z","isp":"ACME"}"#,
            #"{"type":"ping","timestamp":"2024-03-01T01:00:00Z","ping":{"jitter":0.1,"latency":9.8,"progress":0.5}}"#,
            #"{"type":"download","timestamp":"2024-03-01T01:00:00Z","download":{"bandwidth":1,"bytes":1,"elapsed":1,"progress":0.1}}"#,
            #"{"type":"log","timestamp":"2024-03-01T01:00:00Z","message":"Server selection","level":"info"}"#,
        ]
        #expect(RecordReader.decodeAll(lines.joined(separator: "\n")).isEmpty)
    }
}

@Suite struct EncoderSafetyTests {
    @Test func aNonFiniteNumberIsWrittenAsNullNotNaN() {
        let record = Record.result(
            SpeedResult(
                timestamp: Timestamp(millisecondsSinceEpoch: 0), downloadMbps: .nan, uploadMbps: .infinity, pingMs: 1))
        let line = RecordEncoder.line(record)
        #expect(line.contains(#""download_mbps":null,"upload_mbps":null"#))
        #expect(decodeRecord(line) != nil)
    }
}
