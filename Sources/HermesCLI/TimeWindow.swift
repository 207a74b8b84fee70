import ArgumentParser
import HermesCore

/// `--since` and `--until` as every tool that cuts records to a window reads them: RFC 3339 at any
/// offset, or a duration back from `now` (`7d`, `12h`, `1d12h`).
public enum TimeWindow {
    public static func parse(since: String?, until: String?, now: Timestamp) throws -> (
        since: Timestamp?, until: Timestamp?
    ) {
        func parse(_ text: String?, flag: String) throws -> Timestamp? {
            guard let text else { return nil }
            guard let time = TimeSpecification.parse(text, now: now) else {
                throw ValidationError("\(flag) \"\(text)\" is neither an RFC 3339 time nor a duration like 7d or 12h")
            }
            return time
        }
        return (try parse(since, flag: "--since"), try parse(until, flag: "--until"))
    }
}
