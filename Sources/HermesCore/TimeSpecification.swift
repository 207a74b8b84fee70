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

    public static func durationMilliseconds(_ text: String) -> Int64? {
        var total: Int64 = 0
        var digits: Int64?
        var sawUnit = false
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                let (shifted, overflow) = (digits ?? 0).multipliedReportingOverflow(by: 10)
                let (sum, carry) = shifted.addingReportingOverflow(Int64(digit))
                guard !overflow, !carry else { return nil }
                digits = sum
                continue
            }
            let unit: Int64
            switch character {
            case "s": unit = 1000
            case "m": unit = 60_000
            case "h": unit = 3_600_000
            case "d": unit = 86_400_000
            case "w": unit = 604_800_000
            default: return nil
            }
            guard let value = digits else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow, total <= Int64.max - product else { return nil }
            total += product
            digits = nil
            sawUnit = true
        }
        guard sawUnit, digits == nil else { return nil }
        return total
    }
}
