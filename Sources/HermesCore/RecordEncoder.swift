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
        let values = record.values
        for field in RecordSchema.fields(of: record.kind) {
            if field.kind == .timestamp {
                writer.field(field.key, record.timestamp.rfc3339)
                continue
            }
            switch (values[field], field.presence) {
            case (.text(let text), _): writer.field(field.key, text)
            case (.number(let number), _): writer.field(field.key, number)
            case (.integer(let integer), _): writer.field(field.key, integer)
            case (.absent, .optional): break
            case (.absent, .defaulted(let text)): writer.field(field.key, text)
            case (.absent, .required), (.absent, .nullable): writer.field(field.key, nil as String?)
            }
        }
        for member in record.unknownFields.members { writer.field(member.key, member.value) }
        writer.endObject()
    }
}
