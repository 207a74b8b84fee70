import Testing

@testable import HermesCore

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-05-01T12:00:00.123Z", "2026-05-01T12:00:00.123Z"),
        ("2026-05-01T14:00:00.123456+02:00", "2026-05-01T12:00:00.123Z"),
        ("2026-05-01T14:00:00+02:00", "2026-05-01T12:00:00.000Z"),
        ("2026-05-01T07:30:00.5-04:30", "2026-05-01T12:00:00.500Z"),
        ("2026-05-01 12:00:00+00:00", "2026-05-01T12:00:00.000Z"),
        ("2026-05-01t12:00:00.1z", "2026-05-01T12:00:00.100Z"),
        ("2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59.999Z"),
        ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000Z"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
        ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000Z"),
    ])
    func normalisesToUTCMilliseconds(input: String, expected: String) throws {
        #expect(try Timestamp(rfc3339: input).rfc3339 == expected)
    }

    @Test func millisecondsSinceEpoch() throws {
        #expect(try Timestamp(rfc3339: "1970-01-01T00:00:01.5Z").millisecondsSinceEpoch == 1500)
        #expect(try Timestamp(rfc3339: "2001-09-09T01:46:40Z").millisecondsSinceEpoch == 1_000_000_000_000)
    }

    @Test(arguments: [
        ("2026-05-01T12:00:00", Timestamp.ParseError.missingOffset),
        ("2026-05-01T12:00:00.123", .missingOffset),
    ])
    func rejectsMissingOffset(input: String, error: Timestamp.ParseError) {
        #expect(throws: error) { try Timestamp(rfc3339: input) }
    }

    @Test(arguments: [
        "", "2026-05-01", "2026-5-01T12:00:00Z", "2026-02-30T12:00:00Z", "2025-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-05-01T24:00:00Z", "2026-05-01T12:60:00Z", "2026-05-01T12:00:00.Z",
        "2026-05-01T12:00:00+2:00", "2026-05-01T12:00:00Zjunk", "0000-01-01T00:00:00Z", "yesterday",
    ])
    func rejectsMalformed(input: String) {
        #expect(throws: Timestamp.ParseError.self) { try Timestamp(rfc3339: input) }
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` is read by position; written with `+00:00` instead of `Z`, the
    /// same text goes through the general lexer, and both must agree, errors included.
    @Test(arguments: [
        "2026-05-01T12:00:00.123Z", "2024-02-29T23:59:59.999Z", "0001-01-01T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z", "2016-12-31T23:59:60.000Z", "9999-12-31T23:59:60.999Z",
        "2026-02-30T00:00:00.000Z", "2025-02-29T00:00:00.000Z", "2026-13-01T00:00:00.000Z",
        "2026-00-01T00:00:00.000Z", "2026-05-01T24:00:00.000Z", "2026-05-01T12:60:00.000Z",
        "2026-05-01T12:00:61.000Z", "0000-01-01T00:00:00.000Z", "2026-05-01T12:00:0x.000Z",
        "2026-05-01T12:00:00.-00Z",
    ])
    func fixedFormAgreesWithTheGeneralLexer(input: String) {
        let fixed = Result { () throws(Timestamp.ParseError) in try Timestamp(rfc3339: input) }
        let offset = String(input.dropLast()) + "+00:00"
        let general = Result { () throws(Timestamp.ParseError) in try Timestamp(rfc3339: offset) }
        #expect(fixed == general)
    }

    @Test func civilConversionRoundTripsAcrossFourCenturies() {
        for days in stride(from: -719_162, through: 2_932_896, by: 97) {
            let (year, month, day) = Timestamp.civil(fromDays: days)
            #expect(Timestamp.daysSinceEpoch(year: year, month: month, day: day) == days)
        }
    }

    @Test func durationsCountBackFromNow() {
        let now = Timestamp(millisecondsSinceEpoch: 10 * 86_400_000)
        #expect(TimeSpecification.parse("7d", now: now) == Timestamp(millisecondsSinceEpoch: 3 * 86_400_000))
        #expect(
            TimeSpecification.parse("12h", now: now) == Timestamp(millisecondsSinceEpoch: 10 * 86_400_000 - 43_200_000))
        #expect(TimeSpecification.durationMilliseconds("1d12h") == 129_600_000)
        #expect(TimeSpecification.durationMilliseconds("90m") == 5_400_000)
        #expect(TimeSpecification.durationMilliseconds("2w") == 1_209_600_000)
        #expect(TimeSpecification.parse("2026-05-01T12:00:00+02:00", now: now)?.rfc3339 == "2026-05-01T10:00:00.000Z")
        #expect(TimeSpecification.parse("100000000d", now: now) == Timestamp.earliest)
        #expect(TimeSpecification.parse("1000000000h", now: now) == Timestamp.earliest)
        #expect(Timestamp.earliest.rfc3339 == "0001-01-01T00:00:00.000Z")
        #expect(Timestamp.latest.rfc3339 == "9999-12-31T23:59:59.999Z")
        for bad in [
            "", "7", "d", "7x", "-7d", "7d3", "99999999999999999999d", "9223372036854775808s", "9223372036854775807w",
        ] {
            #expect(TimeSpecification.parse(bad, now: now) == nil, "\(bad) should be rejected")
        }
    }
}
