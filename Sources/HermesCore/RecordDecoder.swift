/// Turns one parsed JSON line into a record, whichever of the accepted forms it is in:
/// a canonical v1 record, a Python Hermes `to_dict()` object, or an Ookla CLI json/jsonl line.
public enum RecordDecoder {
    public enum Outcome: Equatable, Sendable {
        case record(Record)
        /// A line that is valid but carries no record, such as Ookla progress or info logs.
        case ignored
    }

    public struct Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// Every key of the accepted forms: parsing a line returns these as shared strings.
    static let knownKeys = KeyTable(["v", "type"] + RecordSchema.fields.map(\.key) + OoklaForm.keys)

    public static func decode(_ value: JSONValue) throws(Rejection) -> Outcome {
        guard case .object(let object) = value else {
            throw Rejection("expected a JSON object, got \(value.typeName)")
        }
        if object.has("v") {
            return .record(try decodeCanonical(object))
        }
        switch object["type"] {
        case .some(.string("result")) where object.has("ping") || object.has("download"):
            return .record(.result(try OoklaForm.decodeResult(object)))
        case .some(.string("log")):
            return try OoklaForm.decodeLog(object).map { .record(.failure($0)) } ?? .ignored
        case .some(.string(let type)) where OoklaForm.progressTypes.contains(type):
            return .ignored
        case .some(.string("result")), .some(.string("failure")):
            throw Rejection("missing required field \"v\" (the schema version, 1)")
        case .some(let other):
            throw Rejection("unknown record type \(describe(other))")
        case .none:
            if object.has("timestamp") && (object.has("download_mbps") || object.has("ping_ms")) {
                return .record(.result(try PythonForm.decode(object)))
            }
            throw Rejection("not a Hermes record: no \"v\" and \"type\", and not a Python Hermes or Ookla result")
        }
    }

    static func describe(_ value: JSONValue) -> String {
        if case .string(let text) = value { return "\"\(text)\"" }
        return value.typeName
    }

    private static func decodeCanonical(_ object: JSONObject) throws(Rejection) -> Record {
        var fields = Fields(object)
        let version = fields.value("v") ?? .null
        guard case .integer(let number) = version else {
            throw Rejection("\"v\" must be the integer 1, got \(describe(version))")
        }
        guard number == Record.schemaVersion else {
            throw Rejection("unsupported schema version \(number) (this Hermes reads version \(Record.schemaVersion))")
        }
        let kind: Record.Kind
        switch try fields.requiredString("type") {
        case "result": kind = .result
        case "failure": kind = .failure
        case let other: throw Rejection("unknown record type \"\(other)\" (expected \"result\" or \"failure\")")
        }
        return try decodeFields(of: kind, &fields)
    }

    /// Reads the declared fields of `kind` in canonical order, which makes each lookup a single
    /// comparison for records Hermes wrote itself; the rest become the record's unknown fields.
    static func decodeFields(of kind: Record.Kind, _ fields: inout Fields) throws(Rejection) -> Record {
        let timestamp = try fields.timestamp()
        var values = RecordValues()
        for field in RecordSchema.fields(of: kind) where field.kind != .timestamp {
            values[field] = try fields.value(of: field)
        }
        return Record(kind: kind, timestamp: timestamp, values: values, unknownFields: fields.unread())
    }
}

/// Typed access to an object's fields, with rejections that name the field. It remembers which
/// members were read, so the rest can be passed on as unknown fields.
struct Fields {
    let object: JSONObject
    private var cursor = 0
    /// Which members were read: a bit per member for the first 64, a list beyond (rare).
    private var readMask: UInt64 = 0
    private var readBeyondMask: [Int] = []

    init(_ object: JSONObject) {
        self.object = object
    }

    /// Looks from where the previous lookup ended, so fields read in the order they were written
    /// cost one comparison each.
    mutating func value(_ key: String) -> JSONValue? {
        let count = object.members.count
        for step in 0..<count {
            let position = (cursor + step) % count
            if object.members[position].key == key {
                cursor = position + 1
                if position < 64 { readMask |= 1 << UInt64(position) } else { readBeyondMask.append(position) }
                return object.members[position].value
            }
        }
        return nil
    }

    private func wasRead(_ position: Int) -> Bool {
        position < 64 ? readMask & (1 << UInt64(position)) != 0 : readBeyondMask.contains(position)
    }

    /// The members no lookup asked for, in input order.
    func unread() -> JSONObject {
        let count = object.members.count
        let allRead = count <= 64 && readMask == (count == 64 ? UInt64.max : (1 << UInt64(count)) - 1)
        if allRead { return JSONObject() }
        return JSONObject(object.members.indices.filter { !wasRead($0) }.map { object.members[$0] })
    }

    /// The value of a declared field, by the field's kind and presence.
    mutating func value(of field: RecordField) throws(RecordDecoder.Rejection) -> FieldValue {
        let found = value(field.key)
        switch found {
        case .none, .some(.null):
            switch field.presence {
            case .optional, .nullable: return .absent
            case .defaulted(let text): return .text(text)
            case .required:
                guard found != nil else { throw .init("missing required field \"\(field.key)\"") }
                let expected = field.kind.isNumeric ? "a number" : "a string"
                throw .init("\"\(field.key)\" must be \(expected), got null")
            }
        case .some(let value):
            return try Self.convert(value, for: field)
        }
    }

    /// A present, non-null value checked against its field's kind. Static, so that
    /// CanonicalRecordDecoder applies the same rules.
    static func convert(_ value: JSONValue, for field: RecordField) throws(RecordDecoder.Rejection) -> FieldValue {
        try convert(value, key: field.key, kind: field.kind, isRequired: field.presence == .required)
    }

    static func convert(_ value: JSONValue, key: String, kind: RecordField.Kind, isRequired: Bool)
        throws(RecordDecoder.Rejection) -> FieldValue
    {
        switch kind {
        case .text, .sentence, .errorKind, .timestamp:
            guard case .string(let text) = value else {
                throw .init("\"\(key)\" must be a string\(isRequired ? "" : " or null"), got \(value.typeName)")
            }
            if kind == .sentence && text.isEmpty {
                throw .init("\"\(key)\" must describe what failed, got an empty string")
            }
            if kind == .errorKind && MeasurementFailure.ErrorKind(rawValue: text) == nil {
                let known = MeasurementFailure.ErrorKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw .init("unknown \"\(key)\" \"\(text)\" (expected one of \(known))")
            }
            return .text(text)
        case .choice(let words):
            guard case .string(let text) = value else {
                throw .init("\"\(key)\" must be a string\(isRequired ? "" : " or null"), got \(value.typeName)")
            }
            guard words.contains(text) else {
                throw .init("unknown \"\(key)\" \"\(text)\" (expected one of \(words.joined(separator: ", ")))")
            }
            return .text(text)
        case .identifier:
            return FieldValue(try serverID(key, value))
        case .measure:
            return FieldValue(try measure(key, value))
        case .percentage:
            let percentage = try measure(key, value)
            if let percentage, percentage > 100 {
                throw .init("\"\(key)\" must be at most 100, got \(percentage)")
            }
            return FieldValue(percentage)
        case .count:
            return FieldValue(try count(key, value))
        }
    }

    mutating func requiredString(_ key: String) throws(RecordDecoder.Rejection) -> String {
        guard let value = value(key) else { throw .init("missing required field \"\(key)\"") }
        guard case .string(let text) = value else {
            throw .init("\"\(key)\" must be a string, got \(value.typeName)")
        }
        return text
    }

    mutating func optionalString(_ key: String) throws(RecordDecoder.Rejection) -> String? {
        switch value(key) {
        case .none, .some(.null): return nil
        case .some(.string(let text)): return text
        case .some(let other): throw .init("\"\(key)\" must be a string or null, got \(other.typeName)")
        }
    }

    mutating func requiredMeasure(_ key: String) throws(RecordDecoder.Rejection) -> Double {
        guard let value = value(key) else { throw .init("missing required field \"\(key)\"") }
        guard case .some(let number) = try Self.measure(key, value) else {
            throw .init("\"\(key)\" must be a number, got null")
        }
        return number
    }

    mutating func optionalMeasure(_ key: String) throws(RecordDecoder.Rejection) -> Double? {
        guard let value = value(key) else { return nil }
        return try Self.measure(key, value)
    }

    // The conversions below are static so that CanonicalRecordDecoder applies the same rules.

    static func measure(_ key: String, _ value: JSONValue) throws(RecordDecoder.Rejection) -> Double? {
        if case .null = value { return nil }
        guard let number = value.doubleValue else {
            throw .init("\"\(key)\" must be a number or null, got \(value.typeName)")
        }
        guard number >= 0 else { throw .init("\"\(key)\" must not be negative, got \(number)") }
        return number
    }

    mutating func optionalCount(_ key: String) throws(RecordDecoder.Rejection) -> Int64? {
        guard let value = value(key) else { return nil }
        return try Self.count(key, value)
    }

    static func count(_ key: String, _ value: JSONValue) throws(RecordDecoder.Rejection) -> Int64? {
        switch value {
        case .null: return nil
        case .integer(let count) where count >= 0: return count
        case .number(let number) where number >= 0 && number == number.rounded() && number < 9.0e18:
            return Int64(number)
        default:
            throw .init("\"\(key)\" must be a non-negative integer or null, got \(describe(value))")
        }
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .integer(let integer): String(integer)
        case .number(let number): String(number)
        default: value.typeName
        }
    }

    mutating func timestamp(_ key: String = "timestamp") throws(RecordDecoder.Rejection) -> Timestamp {
        let text = try requiredString(key)
        do {
            return try Timestamp(rfc3339: text)
        } catch {
            throw .init("\"\(key)\" \"\(text)\" \(error.message)")
        }
    }

    /// Python Hermes stored integer ids; the record carries them as strings.
    mutating func serverID(_ key: String = "server_id") throws(RecordDecoder.Rejection) -> String? {
        guard let value = value(key) else { return nil }
        return try Self.serverID(key, value)
    }

    static func serverID(_ key: String, _ value: JSONValue) throws(RecordDecoder.Rejection) -> String? {
        switch value {
        case .null: return nil
        case .string(let text): return text
        case .integer(let integer): return String(integer)
        default: throw .init("\"\(key)\" must be a string, an integer or null, got \(value.typeName)")
        }
    }
}
