import Glibc

extension HTTPResponse {
    /// How long the server asked to wait before the next request: its `Retry-After` header
    /// (RFC 9110 §10.2.3), either delta-seconds (`120`) or an HTTP-date in the IMF-fixdate form
    /// (`Sun, 06 Nov 1994 08:49:37 GMT`). A date in the past and a negative number mean no wait
    /// (zero); a number too large for 32 bits counts as 2^31 seconds, as RFC 9111 §1.2.2 asks
    /// of delta-seconds. Nil when the header is absent or neither form; the caller then picks its
    /// own delay. Capping the wait to a budget is the caller's business.
    ///
    /// - Parameter now: seconds since the Unix epoch, to turn a date into a wait; by default the
    ///   system clock.
    public func retryAfter(now: Int64 = Int64(time(nil))) -> Duration? {
        guard let value = headers["Retry-After"] else { return nil }
        return RetryAfter.parse(value, now: now)
    }
}

/// The parser behind `HTTPResponse.retryAfter(now:)`.
enum RetryAfter {
    static let largestDelay: Int64 = 1 << 31

    static func parse(_ value: String, now: Int64) -> Duration? {
        var trimmed = Array(value.utf8)[...]
        while let first = trimmed.first, first == 0x20 || first == 0x09 { trimmed = trimmed.dropFirst() }
        while let last = trimmed.last, last == 0x20 || last == 0x09 { trimmed = trimmed.dropLast() }
        guard !trimmed.isEmpty else { return nil }
        var digits = trimmed
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        if !digits.isEmpty, digits.allSatisfy({ (0x30...0x39).contains($0) }) {
            if negative { return .zero }
            var seconds: Int64 = 0
            for digit in digits {
                seconds = seconds * 10 + Int64(digit - 0x30)
                if seconds >= largestDelay { return .seconds(largestDelay) }
            }
            return .seconds(seconds)
        }
        guard let date = imfFixdate(String(decoding: trimmed, as: UTF8.self)) else { return nil }
        return .seconds(max(0, date - now))
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` as seconds since the Unix epoch. The weekday must be a
    /// day name but is not checked against the date: it adds nothing a sender could get right
    /// while getting the date wrong.
    static func imfFixdate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        let days = ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, days.contains(String(parts[0])), parts[5] == "GMT",
            parts[1].count == 2, let day = Int64(parts[1]),
            let monthIndex = months.firstIndex(of: String(parts[2])),
            parts[3].count == 4, let year = Int64(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard parts[4].count == 8, clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
            let hour = Int64(clock[0]), let minute = Int64(clock[1]), let second = Int64(clock[2]),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        let month = Int64(monthIndex + 1)
        guard (1...daysIn(month: month, year: year)).contains(day) else { return nil }
        return daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's
    /// `days_from_civil`).
    private static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
