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

    @Test(arguments: [["--help"], ["query", "--help"]])
    func hermesStoreManualListsEveryFlag(arguments: [String]) throws {
        let help = try Executable.named("hermes-store").run(arguments).stdout
        let manual = try String(
            contentsOf: Self.packageRoot.appendingPathComponent("man/hermes-store.1"), encoding: .utf8)
        let flags = Self.flags(inHelp: help)
        #expect(flags.contains("--sqlite"))
        for flag in flags {
            // mdoc writes --flag as "Fl -flag".
            #expect(manual.contains("Fl -\(flag.dropFirst(2))"), "man/hermes-store.1 does not document \(flag)")
        }
    }

    @Test(arguments: [["--help"], ["test", "--help"], ["status", "--help"]])
    func hermesAlertManualListsEveryFlag(arguments: [String]) throws {
        let help = try Executable.named("hermes-alert").run(arguments).stdout
        let manual = try String(
            contentsOf: Self.packageRoot.appendingPathComponent("man/hermes-alert.1"), encoding: .utf8)
        let flags = Self.flags(inHelp: help)
        #expect(flags.contains("--help"))
        for flag in flags {
            #expect(manual.contains("Fl -\(flag.dropFirst(2))"), "man/hermes-alert.1 does not document \(flag)")
        }
    }
}
