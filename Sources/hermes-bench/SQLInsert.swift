import HermesCore
import HermesStore

/// The row `SQLiteStore.append` stores for a record, as an SQL statement for the sqlite3 CLI: the
/// reference side of the ingest benchmark. The values come from `SQLiteStore.row(of:)`, in the
/// column order of a database hermes-store created (whose schema the reference is given), with
/// `id` left to SQLite; `scripts/bench` compares both databases row by row.
enum SQLInsert {
    static func statement(for record: Record) -> [UInt8] {
        var bytes = Array("INSERT INTO results VALUES(NULL".utf8)
        for cell in SQLiteStore.row(of: record) {
            bytes.append(UInt8(ascii: ","))
            switch cell.value {
            case .absent: bytes.append(contentsOf: "NULL".utf8)
            case .text(let text):
                bytes.append(UInt8(ascii: "'"))
                for byte in text.utf8 {
                    if byte == UInt8(ascii: "'") { bytes.append(byte) }
                    bytes.append(byte)
                }
                bytes.append(UInt8(ascii: "'"))
            // Swift's shortest round-tripping form, as the JSON encoder writes it.
            case .number(let number): bytes.append(contentsOf: number.description.utf8)
            case .integer(let integer): bytes.append(contentsOf: integer.description.utf8)
            }
        }
        return bytes + Array(");\n".utf8)
    }
}
