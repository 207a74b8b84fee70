import Foundation
import Testing

/// Every flag a tool's --help shows must have its line in the tool's manual.
@Suite struct ManualTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func flags(inHelp help: String) -> Set<String> {
        var flags: Set<String> = []
        for word in help.split(whereSeparator: { " ,\n[]()|=<>".contains($0) }) where word.hasPrefix("--") {
            let flag = word.trimmingCharacters(in: CharacterSet(charactersIn: ".:;"))
            if flag.count > 2 { flags.insert(flag) }
        }
        return flags
    }

    @Test(arguments: [
        ("hermes-store", ["--help"]), ("hermes-store", ["query", "--help"]), ("hermes-export", ["--help"]),
        ("hermes-alert", ["--help"]), ("hermes-alert", ["test", "--help"]), ("hermes-alert", ["status", "--help"]),
        ("hermes-alert", ["send", "--help"]), ("hermes-report", ["--help"]),
        ("hermes-target", ["--help"]), ("hermes-measure", ["--help"]),
    ])
    func manualListsEveryFlag(tool: String, arguments: [String]) throws {
        let help = try Executable.named(tool).run(arguments).stdout
        let manual = try String(
            contentsOf: Self.packageRoot.appendingPathComponent("man/\(tool).1"), encoding: .utf8)
        let flags = Self.flags(inHelp: help)
        #expect(flags.contains("--help"))
        for flag in flags {
            // mdoc writes --flag as "Fl -flag".
            #expect(manual.contains("Fl -\(flag.dropFirst(2))"), "man/\(tool).1 does not document \(flag)")
        }
    }
}
