/// The settings of a systemd unit file as systemd.syntax(7) reads them: `[Section]` headers,
/// `Key=value` lines, comments only on lines of their own, a trailing backslash continuing a
/// line, and repeated keys kept in order.
package struct SystemdUnit: Sendable {
    package struct Entry: Sendable, Equatable {
        package let section: String
        package let key: String
        package let value: String
    }

    package let entries: [Entry]

    package init(text: String) {
        var entries: [Entry] = []
        var section = ""
        var pending = ""
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = Substring(rawLine)
            while let first = line.first, first == " " || first == "\t" { line.removeFirst() }
            if pending.isEmpty, line.first == "#" || line.first == ";" { continue }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            let logical = pending + line
            pending = ""
            if logical.hasPrefix("["), logical.hasSuffix("]") {
                section = String(logical.dropFirst().dropLast())
            } else if let equals = logical.firstIndex(of: "=") {
                let key = logical[..<equals].trimmingSpaces()
                let value = logical[logical.index(after: equals)...].trimmingSpaces()
                entries.append(Entry(section: section, key: key, value: value))
            }
        }
        self.entries = entries
    }

    /// Every value of `key` in `section`, in file order.
    package func values(_ key: String, in section: String) -> [String] {
        entries.filter { $0.section == section && $0.key == key }.map(\.value)
    }

    /// The words of every `key` line in `section` (`Documentation=`, `LoadCredential=`, ...).
    package func words(_ key: String, in section: String) -> [String] {
        values(key, in: section).flatMap { $0.split(separator: " ").map(String.init) }
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}

extension SystemdUnit {
    package static let bashPrefix = "/bin/bash -o pipefail -c '"

    /// The script of an `ExecStart=/bin/bash -o pipefail -c '...'` line, as bash receives it
    /// once systemd has replaced `%S` (the state root), `%%` and `$$`; nil if the line has
    /// another shape.
    package static func bashScript(ofExecStart value: String, stateRoot: String) -> String? {
        guard value.hasPrefix(bashPrefix), value.hasSuffix("'"), value.count > bashPrefix.count else { return nil }
        let quoted = value.dropFirst(bashPrefix.count).dropLast()
        guard !quoted.contains("'") else { return nil }
        var script = ""
        var characters = quoted.makeIterator()
        while let character = characters.next() {
            switch character {
            case "%":
                switch characters.next() {
                case "S": script += stateRoot
                case "%": script += "%"
                default: return nil
                }
            case "$":
                guard characters.next() == "$" else {
                    // systemd would expand $NAME itself; the shipped unit leaves that to bash.
                    return nil
                }
                script += "$"
            default: script.append(character)
            }
        }
        return script
    }
}
