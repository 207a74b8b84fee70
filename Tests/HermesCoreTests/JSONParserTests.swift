import Testing

@testable import HermesCore

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2.5, 1e3, true, false, null, "x\"\u00e9\ud83d\ude00\n"], "b": {}} "#)
        let expected = JSONValue.object(
            JSONObject([
                ("a", .array([.integer(1), .number(-2.5), .number(1000), .bool(true), .bool(false), .null, .string("x\"é😀\n")])),
                ("b", .object(JSONObject())),
            ]))
        #expect(value == expected)
    }

    @Test func keepsKeyOrder() throws {
        guard case .object(let object) = try JSONParser.parse(#"{"z":1,"a":2,"m":3}"#) else {
            Issue.record("expected an object")
            return
        }
        #expect(object.members.map(\.key) == ["z", "a", "m"])
    }

    @Test func keepsLargeIntegersExact() throws {
        #expect(try JSONParser.parse("9007199254740993") == .integer(9_007_199_254_740_993))
    }

    @Test(arguments: [
        ("NaN", "NaN is not a number JSON allows"),
        (#"{"x": NaN}"#, "NaN is not a number JSON allows"),
        (#"{"x": Infinity}"#, "Infinity is not a number JSON allows"),
        (#"{"x": -Infinity}"#, "-Infinity is not a number JSON allows"),
        ("1e999", "out of range"),
        (#"{"a":1,"a":2}"#, "duplicate key \"a\""),
        (#"{"a":1} x"#, "after the JSON value"),
        (#"{"a":1"#, "expected '}'"),
        (#"{"a" 1}"#, "expected ':'"),
        ("[1,]", "expected a value"),
        ("01", "leading zero"),
        ("\"abc", "unterminated string"),
        ("\"a\tb\"", "control character"),
        (#""\x""#, "invalid escape"),
        (#""\ud800""#, "unpaired UTF-16 surrogate"),
        ("", "expected a value"),
        (String(repeating: "[", count: 100), "nesting deeper than 64"),
    ])
    func rejectsWithAReason(input: String, reason: String) {
        #expect {
            try JSONParser.parse(input)
        } throws: { error in
            guard let failure = error as? JSONParser.Failure else { return false }
            return failure.message.contains(reason) && failure.message.contains("at byte")
        }
    }

    @Test func rejectsInvalidUTF8InStrings() {
        let bytes: [UInt8] = Array(#"{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParser.Failure) -> JSONValue in try JSONParser.parse(buffer) }
        }
        guard case .failure(let failure) = result else {
            Issue.record("invalid UTF-8 was accepted")
            return
        }
        #expect(failure.message.contains("invalid UTF-8"))
    }

    @Test func writerEscapesWhatJSONRequires() {
        var bytes: [UInt8] = []
        JSONWriter.appendString("a\"b\\c\nd\u{01}é", to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #""a\"b\\c\nd\u0001é""#)
    }
}
