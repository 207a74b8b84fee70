import ArgumentParser
import HermesCLI
import Testing

@Suite struct DurationArgumentTests {
    struct Flags: ParsableArguments {
        @Option var timeout = DurationArgument(.seconds(10))
        @Option var delay = MillisecondsArgument(.zero)
    }

    @Test(arguments: [
        (["--timeout", "10"], Duration.seconds(10)), (["--timeout", "10s"], .seconds(10)),
        (["--timeout", "500ms"], .milliseconds(500)), (["--timeout", "1h30m"], .seconds(5400)),
        (["--timeout", "2.5"], .milliseconds(2500)), ([], .seconds(10)),
    ])
    func secondsFlagsTakeEverySpelling(arguments: [String], expected: Duration) throws {
        #expect(try Flags.parse(arguments).timeout.duration == expected)
    }

    @Test func aBareDelayIsMillisecondsAsItAlwaysWas() throws {
        #expect(try Flags.parse(["--delay", "30"]).delay.duration == .milliseconds(30))
        #expect(try Flags.parse(["--delay", "0.5"]).delay.duration == .microseconds(500))
        #expect(try Flags.parse(["--delay", "2s"]).delay.duration == .seconds(2))
    }

    @Test func aBadValueNamesTheFlag() {
        #expect {
            _ = try Flags.parse(["--timeout", "10x"])
        } throws: { error in
            Flags.message(for: error).contains("--timeout")
        }
    }

    @Test func helpShowsDefaultsInTheSameSyntax() {
        #expect(Flags.helpMessage().contains("(default: 10s)"))
        #expect(DurationArgument(.seconds(5400)).description == "1h30m")
        #expect(DurationArgument(.milliseconds(1500)).description == "1s500ms")
        #expect(DurationArgument(.zero).description == "0s")
    }

    @Test func rangesAreCheckedInTheFlagsTerms() throws {
        #expect(throws: Never.self) {
            try DurationArgument(.seconds(300)).validate("--duration", in: .zero ... .seconds(300))
        }
        #expect {
            try DurationArgument(.zero).validate("--duration", in: .zero ... .seconds(300))
        } throws: { error in
            "\(error)" == "--duration must be more than 0 and at most 5m, got 0s"
        }
        #expect {
            try DurationArgument(.seconds(301)).validate("--lock-wait", in: .zero ... .seconds(300), allowsZero: true)
        } throws: { error in
            "\(error)" == "--lock-wait must be 0s to 5m, got 5m1s"
        }
    }
}

/// An option whose value may be left out gets its default only where no word follows it.
@Suite struct OptionalValueTests {
    struct Command: HermesCommand {
        static let configuration = CommandConfiguration(commandName: "test")
    }

    @Test(arguments: [
        (["--responsiveness"], ["--responsiveness", "sequential"]),
        (["--responsiveness", "--duration", "3s"], ["--responsiveness", "sequential", "--duration", "3s"]),
        (["--responsiveness", "off"], ["--responsiveness", "off"]),
        // A word is its value, for the command to judge (an unknown mode is its error, not a
        // stray argument's).
        (["--responsiveness", "bogus"], ["--responsiveness", "bogus"]),
        (["--responsiveness=parallel"], ["--responsiveness=parallel"]),
        (["--server", "x", "--", "--responsiveness"], ["--server", "x", "--", "--responsiveness"]),
    ])
    func defaultGoesWhereNoValueFollows(arguments: [String], expected: [String]) {
        #expect(Command.defaultingValue(of: "--responsiveness", to: "sequential", in: arguments) == expected)
    }
}
