/// Operands and `--name value` options, consumed by the command that owns them; whatever is left
/// over is a usage error, so a mistyped option never silently falls back to a default.
struct Arguments {
    private var operands: [String] = []
    private var options: [String: String] = [:]

    init(_ words: ArraySlice<String>) throws(BenchError) {
        var remaining = words[...]
        while let word = remaining.popFirst() {
            guard word.hasPrefix("--") else {
                operands.append(word)
                continue
            }
            guard let value = remaining.popFirst() else { throw .usage("\(word) needs a value") }
            guard options.updateValue(value, forKey: word) == nil else {
                throw .usage("\(word) is given twice")
            }
        }
    }

    mutating func operand(_ name: String) throws(BenchError) -> String {
        guard !operands.isEmpty else { throw .usage("missing <\(name)>") }
        return operands.removeFirst()
    }

    mutating func integer(
        _ option: String, default fallback: Int?, in range: ClosedRange<Int>
    ) throws(BenchError) -> Int {
        guard let text = options.removeValue(forKey: option) else {
            guard let fallback else { throw .usage("\(option) is required") }
            return fallback
        }
        guard let value = Int(text), range.contains(value) else {
            let bounds =
                range.upperBound == Int.max
                ? "\(range.lowerBound) or more" : "from \(range.lowerBound) to \(range.upperBound)"
            throw .usage("\(option) must be a whole number \(bounds), got \"\(text)\"")
        }
        return value
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ option: String, default fallback: Choice
    ) throws(BenchError) -> Choice where Choice.RawValue == String {
        guard let text = options.removeValue(forKey: option) else { return fallback }
        guard let value = Choice(rawValue: text) else {
            let names = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            throw .usage("\(option) must be one of \(names), got \"\(text)\"")
        }
        return value
    }

    /// Call once everything the command knows has been taken.
    func finish() throws(BenchError) {
        if let extra = operands.first { throw .usage("unexpected argument \"\(extra)\"") }
        if let unknown = options.keys.sorted().first { throw .usage("unknown option \(unknown)") }
    }
}
