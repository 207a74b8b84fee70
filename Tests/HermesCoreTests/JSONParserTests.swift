import Testing

@testable import HermesCore

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(
            #" {"a": [1, -2.5, 1e3, true, false, null, "x\"\u00e9\ud83d\ude00\n"], "b": {}} "#)
        let expected = JSONValue.object(
            JSONObject(
                [
                    "a": .array([
                        .integer(1), .number(-2.5), .number(1000), .bool(true), .bool(false), .null, .string("x\"é😀\n"),
                    ]),
                    "b": .object(JSONObject()),
                ] as KeyValuePairs<String, JSONValue>))
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

    /// The writer copies the runs between escapes whole: escapes at either end, back to back,
    /// alone, and none at all must all come out right and read back to the same text.
    @Test(arguments: [
        "", "plain", "\"", "\"\"", "\\end\\", "\u{1F}x\u{7F}", "\n\r\t", "é😀", "a\"😀\\\u{0}z",
        String(repeating: "ab\"", count: 100),
    ])
    func writtenStringsReadBackUnchanged(text: String) throws {
        var bytes: [UInt8] = []
        JSONWriter.appendString(text, to: &bytes)
        #expect(bytes.first == UInt8(ascii: "\"") && bytes.last == UInt8(ascii: "\""))
        #expect(!bytes.dropFirst().dropLast().contains { $0 < 0x20 }, "no raw control character")
        #expect(try JSONParser.parse(String(decoding: bytes, as: UTF8.self)) == .string(text))
    }
}

@Suite struct JSONNumberTests {
    @Test(arguments: [
        "0", "-0", "1", "12.5", "100.0", "0.05", "0.000123", "-3.25", "931.4", "40.25", "1e3", "1E-7", "2.5e+2",
        "123456789012345.6", "1234567890123456789", "12345678901234567890", "0.1", "0.30000000000000004",
        "9007199254740993.0", "1.7976931348623157e308", "5e-324", "149.99999999999997", "1e22", "1e23", "4.35",
        "0.000000000000000000000000001",
    ])
    func parsesExactlyAsStrtodWould(text: String) throws {
        let expected = try #require(Double(text))
        let parsed = try JSONParser.parse(text)
        switch parsed {
        case .integer(let integer):
            #expect(Double(integer) == expected && !text.contains(".") && !text.lowercased().contains("e"))
        case .number(let number): #expect(number == expected, "\(text) parsed as \(number)")
        default: Issue.record("\(text) parsed as \(parsed)")
        }
    }

    @Test func randomDecimalsMatchStrtod() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let digits = Int.random(in: 1...17, using: &generator)
            var text = String(UInt64.random(in: 0...UInt64(String(repeating: "9", count: digits))!, using: &generator))
            let point = Int.random(in: 0...text.count, using: &generator)
            if point < text.count { text.insert(".", at: text.index(text.startIndex, offsetBy: point)) }
            if text.hasPrefix(".") { text = "0" + text }
            if text.hasSuffix(".") { text += "0" }
            let value = try JSONParser.parse(text).doubleValue
            #expect(value == Double(text), "\(text)")
        }
    }
}

extension JSONNumberTests {
    /// Integers of 1 to 20 digits, either sign: exact when they fit in 64 bits, else the nearest double.
    @Test func integersAroundSixtyFourBitsAreExactOrNearest() throws {
        var generator = SystemRandomNumberGenerator()
        let edges = [
            "999999999999999999", "1000000000000000000", "9223372036854775807", "9223372036854775808",
            "18446744073709551616", "99999999999999999999",
        ]
        var texts = edges + edges.map { "-" + $0 }
        for _ in 0..<5000 {
            let digits = Int.random(in: 1...20, using: &generator)
            var text = String(Int.random(in: 1...9, using: &generator))
            for _ in 1..<digits { text += String(Int.random(in: 0...9, using: &generator)) }
            texts.append(Bool.random(using: &generator) ? "-" + text : text)
        }
        for text in texts {
            let parsed = try JSONParser.parse(text)
            if let integer = Int64(text) {
                #expect(parsed == .integer(integer), "\(text)")
            } else {
                #expect(parsed == .number(try #require(Double(text))), "\(text)")
            }
        }
    }

    /// Fractions with leading zeros, long mantissas and exponents: the same double as strtod.
    @Test func decimalsWithZerosAndExponentsMatchStrtod() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let whole =
                Bool.random(using: &generator) ? "0" : String(UInt64.random(in: 1...999_999_999, using: &generator))
            let zeros = String(repeating: "0", count: Int.random(in: 0...6, using: &generator))
            let digits = Int.random(in: 1...20, using: &generator)
            var fraction = ""
            for _ in 0..<digits { fraction += String(Int.random(in: 0...9, using: &generator)) }
            var text = whole + "." + zeros + fraction
            if Bool.random(using: &generator) { text += "e" + String(Int.random(in: -30...30, using: &generator)) }
            if Bool.random(using: &generator) { text = "-" + text }
            #expect(try JSONParser.parse(text) == .number(try #require(Double(text))), "\(text)")
        }
    }
}

@Suite struct JSONKeyTests {
    @Test func anEscapedSpellingOfAKeyIsStillADuplicate() {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(#"{"v":1,"\u0076":2}"#) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(#"{"caf\u00e9":1,"café":2}"#) }
    }

    @Test func knownAndUnknownKeysDecodeAlike() throws {
        let value = try JSONParser.parse(
            #"{"server_location":1,"server_locatio":2,"ser\u0076er_id":3,"download_latency_ms":4}"#)
        guard case .object(let object) = value else {
            Issue.record("expected an object")
            return
        }
        #expect(object.members.map(\.key) == ["server_location", "server_locatio", "server_id", "download_latency_ms"])
    }

    @Test func objectsWithMoreKeysThanTheStackTableStillFindDuplicates() {
        let keys = (0..<40).map { "\"k\($0)\":\($0)" }
        #expect((try? JSONParser.parse("{" + keys.joined(separator: ",") + "}")) != nil)
        #expect(throws: JSONParser.Failure.self) {
            try JSONParser.parse("{" + (keys + ["\"k35\":0"]).joined(separator: ",") + "}")
        }
    }
}

@Suite struct JSONLargeObjectTests {
    @Test func anObjectWithHundredsOfThousandsOfKeysParsesInLinearTime() throws {
        let keys = (0..<100_000).map { "\"k\($0)\":0" }
        let clock = ContinuousClock()
        let elapsed = try clock.measure { _ = try JSONParser.parse("{" + keys.joined(separator: ",") + "}") }
        // Quadratic checking took over 20 s for this; linear takes well under a second even in debug.
        #expect(elapsed < .seconds(10))
        #expect(throws: JSONParser.Failure.self) {
            try JSONParser.parse("{" + (keys + ["\"k99999\":1"]).joined(separator: ",") + "}")
        }
    }
}
