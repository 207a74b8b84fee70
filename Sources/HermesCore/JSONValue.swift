/// A parsed JSON value. Objects keep their key order, so records passed on keep unknown fields
/// where the producer put them.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// An integral literal that fits in 64 bits, kept exact (byte counts exceed 2^53).
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }
}

/// One key and its value in an object.
public struct JSONMember: Equatable, Sendable {
    public var key: String
    public var value: JSONValue

    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// An ordered JSON object. Lookup is linear: records have a couple of dozen keys, and order matters more.
public struct JSONObject: Equatable, Sendable {
    public var members: [JSONMember]

    public init(_ members: [JSONMember] = []) {
        self.members = members
    }

    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        self.members = pairs.map { JSONMember(key: $0.key, value: $0.value) }
    }

    public subscript(key: String) -> JSONValue? {
        for member in members where member.key == key { return member.value }
        return nil
    }

    public func has(_ key: String) -> Bool {
        members.contains { $0.key == key }
    }

    public var isEmpty: Bool { members.isEmpty }
}
