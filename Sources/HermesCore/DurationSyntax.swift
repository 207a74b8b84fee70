/// The one way Hermes reads a duration, in flags and in the environment alike: a number with a
/// unit (`500ms`, `10s`, `2m`, `1h`, `7d`, `2w`), several of them in a row (`1h30m`, `1m30.5s`), or
/// a bare number in the flag's own unit, which is seconds except where an older spelling said
/// otherwise (`hermes-target --delay 30` is milliseconds, `ALERT_COOLDOWN_MINUTES=60` minutes).
public enum DurationSyntax {
    /// Each unit's length in microseconds.
    public enum Unit: Int64, Sendable {
        case milliseconds = 1000
        case seconds = 1_000_000
        case minutes = 60_000_000
        case hours = 3_600_000_000
        case days = 86_400_000_000
        case weeks = 604_800_000_000

        var milliseconds: Double { Double(rawValue / 1000) }

        public var symbol: String {
            switch self {
            case .milliseconds: "ms"
            case .seconds: "s"
            case .minutes: "m"
            case .hours: "h"
            case .days: "d"
            case .weeks: "w"
            }
        }

        init?(symbol: Substring) {
            switch symbol {
            case "ms": self = .milliseconds
            case "s": self = .seconds
            case "m": self = .minutes
            case "h": self = .hours
            case "d": self = .days
            case "w": self = .weeks
            default: return nil
            }
        }
    }

    /// How help and messages show a duration: `7d`, `10s`, `1h30m`, `500ms`.
    public static func format(_ duration: Duration) -> String {
        var rest = Int64(duration / .microseconds(1))
        guard rest > 0 else { return "0s" }
        var text = ""
        for unit in [Unit.days, .hours, .minutes, .seconds, .milliseconds] where rest >= unit.rawValue {
            text += "\(rest / unit.rawValue)\(unit.symbol)"
            rest %= unit.rawValue
        }
        if rest > 0 { text += "\(rest)µs" }
        return text
    }

    /// What the error messages show as examples.
    public static let examples = "10s, 500ms, 2m or 1h30m"

    /// The duration `text` names, in milliseconds (rounded to the nearest), or nil when it names
    /// none or more than Int64 holds. `bareUnit` nil means a unit is required (a time back from
    /// now, such as `--since 7d`).
    public static func milliseconds(_ text: String, bareUnit: Unit? = .seconds) -> Int64? {
        whole(total(text, bareUnit: bareUnit))
    }

    /// The same as a `Duration`, to the microsecond.
    public static func duration(_ text: String, bareUnit: Unit? = .seconds) -> Duration? {
        whole(total(text, bareUnit: bareUnit).map { $0 * 1000 }).map { .microseconds($0) }
    }

    /// In milliseconds; a double holds every whole millisecond up to 285,000 years exactly.
    private static func total(_ text: String, bareUnit: Unit?) -> Double? {
        let trimmed = Substring(text.trimming())
        guard !trimmed.isEmpty else { return nil }
        if let bareUnit, let number = decimal(trimmed) { return number * bareUnit.milliseconds }
        var total = 0.0
        var rest = trimmed
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? rest.endIndex
            let unitEnd = rest[numberEnd...].firstIndex { !($0.isASCII && $0.isLetter) } ?? rest.endIndex
            guard let number = decimal(rest[..<numberEnd]), let unit = Unit(symbol: rest[numberEnd..<unitEnd]) else {
                return nil
            }
            total += number * unit.milliseconds
            rest = rest[unitEnd...]
        }
        return total
    }

    /// Digits with at most one point, and at least one digit: no sign, exponent, `inf` or `nan`.
    private static func decimal(_ text: Substring) -> Double? {
        guard text.contains(where: \.isNumber), text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            text.filter({ $0 == "." }).count <= 1
        else { return nil }
        return Double(text)
    }

    private static func whole(_ value: Double?) -> Int64? {
        guard let rounded = value?.rounded(), rounded.isFinite, rounded < 9.2e18 else { return nil }
        return Int64(rounded)
    }
}
