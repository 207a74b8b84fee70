/// A point in time given on the command line: RFC 3339, or a duration back from now (`7d`, `12h`,
/// `90m`, `30s`, `2w`, combinations such as `1d12h`).
public enum TimeSpecification {
    public static func parse(_ text: String, now: Timestamp) -> Timestamp? {
        if let absolute = try? Timestamp(rfc3339: text) { return absolute }
        guard let milliseconds = durationMilliseconds(text) else { return nil }
        // "Since longer ago than year 1" means since the beginning.
        let reach = now.millisecondsSinceEpoch - Timestamp.earliest.millisecondsSinceEpoch
        return milliseconds >= reach ? Timestamp.earliest : now.adding(milliseconds: -milliseconds)
    }

    /// A duration with its units (`7d`, `1d12h`): a bare number is no time back from now.
    public static func durationMilliseconds(_ text: String) -> Int64? {
        DurationSyntax.milliseconds(text, bareUnit: nil)
    }
}
