import Foundation
import HermesTestSupport
import Testing

@testable import HermesCore
@testable import HermesStore

/// Every field `RecordSchema` declares goes everywhere a record goes, with nothing spelled out per
/// field: these tests walk the declaration, so a field added to it is covered without a line here.
@Suite struct RecordSchemaTests {
    /// A value of the field's kind that no default or rounding could produce by accident, different
    /// for each field so that two swapped columns show.
    static func sample(_ field: RecordField) -> FieldValue {
        let seed = field.index
        switch field.kind {
        case .timestamp: return .absent
        case .text, .identifier: return .text("\(field.key), ünïcode \(seed)")
        case .sentence: return .text("\(field.key) failed at step \(seed)")
        case .errorKind:
            let kinds = MeasurementFailure.ErrorKind.allCases
            return .text(kinds[seed % kinds.count].rawValue)
        case .choice(let words): return .text(words[seed % words.count])
        case .measure: return .number(Double(seed) + 0.125)
        case .percentage: return .number(Double(seed % 100) + 0.5)
        case .count: return .integer(Int64(seed) * 1_000_003 + (1 << 40))
        }
    }

    /// A record of `kind` with every field of that kind set.
    static func fullRecord(_ kind: Record.Kind) -> Record {
        var values = RecordValues()
        for field in RecordSchema.fields(of: kind) { values[field] = sample(field) }
        return Record(kind: kind, timestamp: Timestamp(millisecondsSinceEpoch: 1_777_636_800_123), values: values)
    }

    @Test(arguments: Record.Kind.allCases)
    func everyFieldSurvivesEncodeDecodeStoreQueryAndEncode(kind: Record.Kind) throws {
        let record = Self.fullRecord(kind)
        let line = RecordEncoder.line(record)
        for field in RecordSchema.fields(of: kind) {
            #expect(line.contains("\"\(field.key)\":"), "\(field.key) is missing from \(line)")
        }

        // Both decoders: the fast one takes this plain line, the general one any line.
        var copy = line
        copy.removeLast()
        let decoded = copy.withUTF8 { bytes in
            (CanonicalRecordDecoder().decode(bytes), RecordReader.decode(line: bytes, canonical: nil))
        }
        #expect(decoded.0 == record)
        #expect(decoded.1 == .success(.record(record)))

        let directory = try TemporaryDirectory()
        let path = directory.file("hermes.db")
        let store = try SQLiteStore(path: path)
        try store.append([record])
        let back = try store.query(RecordQuery(kinds: .all))
        try store.close()
        #expect(back == [record])
        #expect(back.map(RecordEncoder.line) == [line])

        // Each field landed in the column of its own name, as another reader of the file sees it.
        for field in RecordSchema.fields(of: kind) where field.kind != .timestamp {
            let stored = try sqlite(path, "SELECT \(field.key) FROM results")
            let expected: String? =
                switch Self.sample(field) {
                case .text(let text): text
                case .number(let number): String(number)
                case .integer(let integer): String(integer)
                case .absent: nil
                }
            #expect(stored == [[expected]], "column \(field.key)")
        }
    }

    @Test func fieldsOfTheOtherKindAreNeitherWrittenNorStored() throws {
        // A failure carrying result fields (as a careless producer could build it) is written and
        // stored with its own fields only.
        var values = Self.fullRecord(.failure).values
        for field in RecordSchema.fields(of: .result) where !field.applies(to: .failure) {
            values[field] = Self.sample(field)
        }
        let record = Record(kind: .failure, timestamp: Timestamp(millisecondsSinceEpoch: 0), values: values)
        let line = RecordEncoder.line(record)
        #expect(!line.contains("ping_ms"))
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("h.db"))
        try store.append([record])
        try store.close()
        #expect(try sqlite(directory.file("h.db"), "SELECT ping_ms, client_ip FROM results") == [[nil, nil]])
    }

    /// A new database gets every column version 1 always had, with its type and in its order:
    /// generating the table from the declaration changed none of them. Fields declared since may
    /// add columns; they are not pinned here.
    @Test func newDatabasesKeepTheVersionOneColumns() {
        let versionOne = [
            "id INTEGER PRIMARY KEY", "timestamp TEXT NOT NULL", "download_mbps REAL", "upload_mbps REAL",
            "ping_ms REAL", "jitter_ms REAL", "isp_name TEXT", "server_name TEXT", "server_location TEXT",
            "server_id TEXT", "type TEXT NOT NULL DEFAULT 'result' CHECK (type IN ('result', 'failure'))",
            "error TEXT", "error_kind TEXT", "engine TEXT", "server_url TEXT", "client_ip TEXT", "probe TEXT",
            "download_latency_ms REAL", "upload_latency_ms REAL", "packet_loss_pct REAL", "download_bytes INTEGER",
            "upload_bytes INTEGER", "duration_ms INTEGER", "streams INTEGER", "source_timestamp TEXT",
        ]
        let generated = SQLiteSchema.createTable(named: "results")
        #expect(generated.hasPrefix("CREATE TABLE results (\n    id INTEGER PRIMARY KEY,\n"))
        let definitions = generated.split(separator: "\n").dropFirst().dropLast().map {
            String($0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: ",")))
        }
        #expect(definitions.filter(versionOne.contains) == versionOne)
        #expect(definitions.last == "source_timestamp TEXT")
    }

    @Test func theCSVHeaderIsThePythonHermesHeader() {
        #expect(
            CSVFormat.header == [
                "timestamp", "download_mbps", "upload_mbps", "ping_ms", "jitter_ms", "isp_name", "server_name",
                "server_location", "server_id",
            ])
    }

    @Test func everyPythonFieldSurvivesTheCSV() throws {
        guard case .result(let result) = Self.fullRecord(.result) else { throw CancellationError() }
        let cells = try #require(CSVFormat.parse(CSVFormat.row(result)).first?.cells)
        let back = try CSVFormat.result(from: cells)
        for field in RecordSchema.fields where field.python != nil && field.kind != .timestamp {
            #expect(back.values[field] == result.values[field], "\(field.key)")
        }
        #expect(back.timestamp == result.timestamp)
    }

    /// A row this store did not write (an old or hand-edited database) that lacks a required value
    /// reads as earlier versions read it, so `query` still prints a record.
    @Test func aRowWithoutARequiredValueReadsAsBefore() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("h.db")
        try SQLiteStore(path: path).close()
        _ = try sqlite(path, "INSERT INTO results (timestamp, type) VALUES ('2026-01-01T00:00:00.000Z', 'result')")
        _ = try sqlite(path, "INSERT INTO results (timestamp, type) VALUES ('2026-01-02T00:00:00.000Z', 'failure')")
        let records = try SQLiteStore(readingFrom: path).query(RecordQuery(kinds: .all, chronological: true))
        let lines = records.map(RecordEncoder.line)
        #expect(lines.first?.contains(#""ping_ms":0.0"#) == true, "\(lines)")
        #expect(lines.first?.contains(#""server_name":"""#) == true)
        #expect(lines.last?.contains(#""error_kind":"internal""#) == true, "\(lines)")
    }

    /// A database made before a field was declared gains its column on the next write, keeps its
    /// rows, and can be read before that (the missing field reads as absent).
    @Test func aDatabaseWithoutAColumnGainsItAndKeepsItsRows() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("old.db")
        let store = try SQLiteStore(path: path)
        try store.append([Self.fullRecord(.result)])
        try store.close()
        _ = try sqlite(path, "ALTER TABLE results DROP COLUMN streams")

        let reader = try SQLiteStore(readingFrom: path)
        let read = try reader.query(RecordQuery(kinds: .all))
        guard case .result(let old)? = read.first else { throw CancellationError() }
        #expect(old.extensions.streams == nil)
        #expect(old.extensions.durationMs != nil)

        let writer = try SQLiteStore(path: path)
        try writer.append([Self.fullRecord(.result)])
        try writer.close()
        #expect(try sqlite(path, "SELECT count(*), count(streams) FROM results") == [["2", "1"]])
    }

    /// The fields code names (`RecordField.engine` and the others) are all declared: a typo would
    /// stop every tool at start-up, so it is caught here first. Keys are unique.
    @Test func namedFieldsAreDeclared() {
        let named: [(RecordField, String)] = [
            (.timestamp, "timestamp"), (.downloadMbps, "download_mbps"), (.uploadMbps, "upload_mbps"),
            (.pingMs, "ping_ms"), (.jitterMs, "jitter_ms"), (.ispName, "isp_name"), (.serverName, "server_name"),
            (.serverLocation, "server_location"), (.serverID, "server_id"), (.error, "error"),
            (.errorKind, "error_kind"), (.engine, "engine"), (.serverURL, "server_url"), (.clientIP, "client_ip"),
            (.probe, "probe"), (.downloadLatencyMs, "download_latency_ms"), (.uploadLatencyMs, "upload_latency_ms"),
            (.packetLossPct, "packet_loss_pct"), (.downloadBytes, "download_bytes"), (.uploadBytes, "upload_bytes"),
            (.durationMs, "duration_ms"), (.streams, "streams"),
        ]
        for (field, key) in named {
            #expect(field.key == key)
            #expect(RecordSchema.fields[field.index].key == key)
        }
        #expect(Set(RecordSchema.fields.map(\.key)).count == RecordSchema.fields.count)
    }
}
