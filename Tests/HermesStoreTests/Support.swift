import CSQLite
import Foundation
import HermesCore
import Testing

@testable import HermesStore

func timestamp(_ text: String) -> Timestamp {
    (try? Timestamp(rfc3339: text)) ?? Timestamp(millisecondsSinceEpoch: 0)
}

func result(
    _ time: String, download: Double? = 100, upload: Double? = 20, ping: Double = 10, server: String = "Berlin-1"
) -> Record {
    .result(
        SpeedResult(
            timestamp: timestamp(time), downloadMbps: download, uploadMbps: upload, pingMs: ping, jitterMs: 1.5,
            ispName: "ACME", serverName: server, serverLocation: "Berlin, Germany", serverID: "1234"))
}

func failure(_ time: String, kind: MeasurementFailure.ErrorKind = .timeout) -> Record {
    .failure(
        MeasurementFailure(
            timestamp: timestamp(time), error: "the test timed out", errorKind: kind, engine: "cloudflare"))
}

/// Runs SQL through the sqlite3 C API directly, independent of the store under test.
func sqlite(_ path: String, _ sql: String) throws -> [[String?]] {
    var database: OpaquePointer?
    try #require(sqlite3_open(path, &database) == SQLITE_OK)
    defer { sqlite3_close(database) }
    var rows: [[String?]] = []
    var statement: OpaquePointer?
    var remaining = sql
    while !remaining.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
        var tail: UnsafePointer<CChar>?
        let status = remaining.withCString { sqlite3_prepare_v2(database, $0, -1, &statement, &tail) }
        try #require(status == SQLITE_OK, "\(String(cString: sqlite3_errmsg(database))) in \(remaining)")
        let consumed = remaining.withCString { base in tail.map { $0 - base } ?? remaining.utf8.count }
        remaining = String(remaining.utf8.dropFirst(consumed)) ?? ""
        guard let statement else { continue }
        while sqlite3_step(statement) == SQLITE_ROW {
            rows.append(
                (0..<sqlite3_column_count(statement)).map { column in
                    sqlite3_column_text(statement, column).map { String(cString: $0) }
                })
        }
        sqlite3_finalize(statement)
    }
    return rows
}

func readFile(_ path: String) throws -> [UInt8] {
    Array(try #require(FileManager.default.contents(atPath: path)))
}
