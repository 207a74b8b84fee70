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

    /// Every flag in `tool arguments`'s output has its `Fl -flag` line in man/<tool>.1.
    static func expectManualDocumentsEveryFlag(tool: String, arguments: [String], knownFlag: String) throws {
        let help = try Executable.named(tool).run(arguments).stdout
        let manual = try String(
            contentsOf: packageRoot.appendingPathComponent("man/\(tool).1"), encoding: .utf8)
        let flags = flags(inHelp: help)
        #expect(flags.contains(knownFlag))
        for flag in flags {
            // mdoc writes --flag as "Fl -flag".
            #expect(manual.contains("Fl -\(flag.dropFirst(2))"), "man/\(tool).1 does not document \(flag)")
        }
    }

    @Test(arguments: [["--help"], ["query", "--help"]])
    func hermesStoreManualListsEveryFlag(arguments: [String]) throws {
        try Self.expectManualDocumentsEveryFlag(tool: "hermes-store", arguments: arguments, knownFlag: "--sqlite")
    }

    @Test func hermesExportManualListsEveryFlag() throws {
        try Self.expectManualDocumentsEveryFlag(tool: "hermes-export", arguments: ["--help"], knownFlag: "--textfile")
    }
}
