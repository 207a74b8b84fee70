/// Writes records in canonical v1 form: stable key order, compact, one `\n`-terminated line.
public enum RecordEncoder {
    public static func encode(_ record: Record) -> [UInt8] {
        var writer = JSONWriter()
        append(record, to: &writer)
        writer.newline()
        return writer.bytes
    }

    public static func line(_ record: Record) -> String {
        String(decoding: encode(record), as: UTF8.self)
    }

    public static func append(_ record: Record, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("v", Record.schemaVersion)
        writer.field("type", record.kind.rawValue)
        let plan = Plan.shared
        let entries = record.kind == .result ? plan.result : plan.failure
        record.values.withSlots { values in
            plan.bytes.withUnsafeBufferPointer { bytes in
                for entry in entries {
                    let key = UnsafeBufferPointer(rebasing: bytes[entry.key])
                    if entry.isTimestamp {
                        writer.key(encoded: key)
                        writer.value(record.timestamp.rfc3339)
                        continue
                    }
                    switch values[entry.field] {
                    case .text(let text):
                        writer.key(encoded: key)
                        writer.value(text)
                    case .number(let number):
                        writer.key(encoded: key)
                        writer.value(number)
                    case .integer(let integer):
                        writer.key(encoded: key)
                        writer.value(integer)
                    case .absent:
                        guard let absent = entry.whenAbsent else { break }
                        writer.key(encoded: key)
                        writer.value(encoded: UnsafeBufferPointer(rebasing: bytes[absent]))
                    }
                }
            }
        }
        for member in record.unknownFields.members { writer.field(member.key, member.value) }
        writer.endObject()
    }

    /// The declaration as the encoder walks it: keys and absent values encoded once, and entries of
    /// plain values, so that writing a record copies no declaration and no string.
    private final class Plan: Sendable {
        struct Entry {
            let field: Int
            let isTimestamp: Bool
            /// `"key":` in `bytes`.
            let key: Range<Int>
            /// What an absent value is written as (`null`, `""`), in `bytes`; nil when it is omitted.
            let whenAbsent: Range<Int>?
        }

        static let shared = Plan()

        let bytes: [UInt8]
        let result: [Entry]
        let failure: [Entry]

        private init() {
            var bytes: [UInt8] = []
            func add(_ encode: (inout [UInt8]) -> Void) -> Range<Int> {
                let start = bytes.count
                encode(&bytes)
                return start..<bytes.count
            }
            func entries(_ kind: Record.Kind) -> [Entry] {
                RecordSchema.fields(of: kind).map { field in
                    let key = add {
                        JSONWriter.appendString(field.key, to: &$0)
                        $0.append(UInt8(ascii: ":"))
                    }
                    let whenAbsent: Range<Int>? =
                        switch field.presence {
                        case .optional: nil
                        case .required, .nullable: add { $0.append(contentsOf: "null".utf8) }
                        case .defaulted(let text): add { JSONWriter.appendString(text, to: &$0) }
                        }
                    return Entry(
                        field: field.index, isTimestamp: field.kind == .timestamp, key: key, whenAbsent: whenAbsent)
                }
            }
            result = entries(.result)
            failure = entries(.failure)
            self.bytes = bytes
        }
    }
}
