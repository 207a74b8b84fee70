import Glibc

/// Configuration from the environment: `HERMES_*` first, then the Python Hermes names.
public struct Environment: Sendable {
    public var variables: [String: String]

    public init(_ variables: [String: String]) {
        self.variables = variables
    }

    public static func current() -> Environment {
        var variables: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let separator = text.firstIndex(of: "=") {
                variables[String(text[..<separator])] = String(text[text.index(after: separator)...])
            }
            pointer += 1
        }
        return Environment(variables)
    }

    /// The first of `names` that is set to a non-empty value (Python Hermes treated empty as unset).
    public func first(_ names: String...) -> (name: String, value: String)? {
        for name in names {
            if let value = variables[name], !value.isEmpty { return (name, value) }
        }
        return nil
    }

    /// A non-negative integer setting, where 0 means unlimited as in the Python Hermes.
    public func limit(_ names: String...) throws(ConfigurationError) -> Int? {
        for name in names {
            guard let value = variables[name]?.trimming(), !value.isEmpty else { continue }
            guard let number = Int(value), number >= 0 else {
                throw ConfigurationError("environment variable \(name)=\(value) is not a non-negative integer")
            }
            return number == 0 ? nil : number
        }
        return nil
    }

    /// Where state lives: `$STATE_DIRECTORY` under systemd, else `$XDG_STATE_HOME/hermes`,
    /// else `~/.local/state/hermes`.
    public var stateDirectory: String {
        if let systemd = variables["STATE_DIRECTORY"], !systemd.isEmpty {
            // systemd passes a colon-separated list when several are configured; the first is ours.
            return String(systemd.split(separator: ":").first ?? Substring(systemd))
        }
        if let xdg = variables["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/hermes" }
        let home = variables["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.homeOfCurrentUser()
        return home + "/.local/state/hermes"
    }

    private static func homeOfCurrentUser() -> String {
        guard let entry = getpwuid(getuid()), let directory = entry.pointee.pw_dir else { return "/" }
        return String(cString: directory)
    }
}

public struct ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension StringProtocol {
    /// Without leading and trailing scalars found in `characters` (by scalar, so `"\r\n"` is two).
    public func trimming(_ characters: String = " \t") -> String {
        let set = Set(characters.unicodeScalars)
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, set.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, set.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}

extension String {
    /// The text on one line and safe for a terminal: line breaks and tabs become spaces, other
    /// control characters (a record's error could carry terminal escapes) `?`.
    public var printableOnOneLine: String {
        String(
            String.UnicodeScalarView(
                unicodeScalars.map { scalar in
                    switch scalar.value {
                    case 0x0A, 0x0D, 0x09: " "
                    case 0..<0x20, 0x7F..<0xA0: "?"
                    default: scalar
                    }
                }))
    }
}
