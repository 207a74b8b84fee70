import Testing

@testable import HermesCore

@Suite struct DurationSyntaxTests {
    @Test(arguments: [
        ("10", 10_000), ("10s", 10_000), ("500ms", 500), ("2m", 120_000), ("1h30m", 5_400_000), ("0", 0),
        ("1.5", 1_500), ("0.25s", 250), ("1m30.5s", 90_500), ("2w", 1_209_600_000), ("1d12h", 129_600_000),
        (" 30s\t", 30_000), ("1h1ms", 3_600_001),
    ])
    func everySpellingNamesItsDuration(text: String, milliseconds: Int64) {
        #expect(DurationSyntax.milliseconds(text) == milliseconds)
    }

    @Test(arguments: ["", "s", "10x", "-1", "-1s", "1e3", "1..5s", "inf", "nan", "10 s", "s10", "1h-5m", "10sec"])
    func anythingElseIsNoDuration(text: String) {
        #expect(DurationSyntax.milliseconds(text) == nil)
    }

    @Test func aBareNumberTakesTheFlagsOwnUnit() {
        #expect(DurationSyntax.milliseconds("30", bareUnit: .milliseconds) == 30)
        #expect(DurationSyntax.duration("0.5", bareUnit: .milliseconds) == .microseconds(500))
        #expect(DurationSyntax.milliseconds("60", bareUnit: .minutes) == 3_600_000)
        #expect(DurationSyntax.milliseconds("30", bareUnit: nil) == nil)
        #expect(DurationSyntax.milliseconds("30s", bareUnit: .milliseconds) == 30_000)
    }

    @Test func hugeDurationsAreRefusedNotWrapped() {
        #expect(DurationSyntax.milliseconds("9223372036854775807w") == nil)
        #expect(DurationSyntax.milliseconds("100000000d") == 8_640_000_000_000_000)
        #expect(DurationSyntax.duration("1000000000d") == nil)
    }
}
