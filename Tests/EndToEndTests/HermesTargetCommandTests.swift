import Foundation
import Testing

@Suite struct HermesTargetCommandTests {
    @Test func helpAndVersionGoToStandardOutput() throws {
        let target = try Executable.named("hermes-target")
        let help = try target.run(["--help"])
        #expect(help.status == 0)
        for flag in [
            "--listen", "--rate", "--down-rate", "--up-rate", "--delay", "--fail-status", "--rate-limit",
            "--stall-after", "--close-after",
        ] {
            #expect(help.stdout.contains(flag), "\(flag) missing from --help")
        }
        let version = try target.run(["--version"])
        #expect(version.status == 0)
        #expect(!version.stdout.isEmpty)
    }

    @Test(arguments: [
        ["--listen", "nowhere"], ["--listen", "127.0.0.1:99999"], ["--rate", "0"], ["--delay", "-1"],
        ["--fail-status", "42"], ["--no-such-flag"], ["--stall-after", "-5"],
    ])
    func badFlagsExit64(arguments: [String]) throws {
        let outcome = try Executable.named("hermes-target").run(arguments)
        #expect(outcome.status == 64)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderrLines.first?.hasPrefix("hermes-target: ") == true, "\(outcome.stderr)")
    }

    @Test func servesOnTheAddressItPrints() throws {
        let target = try Executable.named("hermes-target")
        let process = Process()
        process.executableURL = target.url
        process.arguments = ["--listen", "127.0.0.1:0", "--colo", "TST"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        var text = ""
        let deadline = Date().addingTimeInterval(10)
        while !text.contains("\n") && Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        let prefix = "hermes-target: listening on 127.0.0.1:"
        try #require(text.hasPrefix(prefix), "stderr: \(text)")
        let port = try #require(Int(text.dropFirst(prefix.count).prefix { $0.isNumber }))
        // The curl CLI, an independent client (Foundation's URL loading is not used in these tests).
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-m", "10", "http://127.0.0.1:\(port)/meta"]
        let output = Pipe()
        curl.standardOutput = output
        try curl.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        #expect(curl.terminationStatus == 0)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect((object?["colo"] as? [String: Any])?["iata"] as? String == "TST")
        #expect(object?["clientIp"] as? String == "127.0.0.1")
    }
}
