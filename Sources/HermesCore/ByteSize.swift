/// How Hermes reads a size: bytes as a bare number, or with a binary unit, `K`/`KiB`, `M`/`MiB`,
/// `G`/`GiB` (powers of 1024, as `du -h` and systemd's size settings count).
public enum ByteSize {
    public static let examples = "65536, 512K, 64M or 1G"

    public static func bytes(_ text: String) -> Int? {
        let trimmed = text.trimming()
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = Int(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count)
        let shift: Int
        switch unit {
        case "", "B": shift = 0
        case "K", "KiB", "k": shift = 10
        case "M", "MiB": shift = 20
        case "G", "GiB": shift = 30
        default: return nil
        }
        let (value, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : value
    }

    /// `64MiB`, `512KiB`, `1000B`: the largest unit that divides the size.
    public static func format(_ bytes: Int) -> String {
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes > 0 && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return "\(bytes)B"
    }
}
