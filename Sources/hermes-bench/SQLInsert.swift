import HermesCore

/// The row `SQLiteStore.append` stores for a record, as an SQL statement for the sqlite3 CLI: the
/// reference side of the ingest benchmark. Values follow the `results` column order with `id` left
/// to SQLite. `scripts/bench` compares both databases row by row, so a drift shows up there.
enum SQLInsert {
    static func statement(for record: Record) -> [UInt8] {
        var row = Row()
        row.add(record.timestamp.rfc3339)
        switch record {
        case .result(let result):
            let extensions = result.extensions
            row.add(result.downloadMbps)
            row.add(result.uploadMbps)
            row.add(result.pingMs)
            row.add(result.jitterMs)
            row.add(result.ispName)
            row.add(result.serverName)
            row.add(result.serverLocation)
            row.add(result.serverID)
            row.add("result")
            row.addNulls(2)  // error, error_kind
            row.add(extensions.engine)
            row.add(extensions.serverURL)
            row.add(extensions.clientIP)
            row.add(extensions.probe)
            row.add(extensions.downloadLatencyMs)
            row.add(extensions.uploadLatencyMs)
            row.add(extensions.packetLossPct)
            row.add(extensions.downloadBytes)
            row.add(extensions.uploadBytes)
            row.add(extensions.durationMs)
            row.add(extensions.streams)
        case .failure(let failure):
            row.addNulls(8)  // download_mbps through server_id
            row.add("failure")
            row.add(failure.error)
            row.add(failure.errorKind.rawValue)
            row.add(failure.engine)
            row.add(failure.serverURL)
            row.addNulls(1)  // client_ip
            row.add(failure.probe)
            row.addNulls(7)  // download_latency_ms through streams
        }
        row.addNulls(1)  // source_timestamp: set only by the Python Hermes migration
        return row.bytes + Array(");\n".utf8)
    }

    private struct Row {
        var bytes = Array("INSERT INTO results VALUES(NULL".utf8)

        mutating func add(_ text: String?) {
            guard let text else { return addNulls(1) }
            bytes.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: "'")])
            for byte in text.utf8 {
                if byte == UInt8(ascii: "'") { bytes.append(byte) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "'"))
        }

        /// Swift's shortest round-tripping form, as the JSON encoder writes it.
        mutating func add(_ number: Double?) {
            guard let number else { return addNulls(1) }
            bytes.append(UInt8(ascii: ","))
            bytes.append(contentsOf: Array(number.description.utf8))
        }

        mutating func add(_ number: Int64?) {
            guard let number else { return addNulls(1) }
            bytes.append(UInt8(ascii: ","))
            bytes.append(contentsOf: Array(number.description.utf8))
        }

        mutating func addNulls(_ count: Int) {
            for _ in 0..<count { bytes.append(contentsOf: Array(",NULL".utf8)) }
        }
    }
}
