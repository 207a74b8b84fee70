/// An instant with millisecond precision, as the record contract stores it.
///
/// Parsing accepts any RFC 3339 offset (Python Hermes wrote local offsets such as `+02:00`) and
/// fractions of any length; formatting always gives UTC with milliseconds and `Z`, a fixed-width
/// form whose text order is time order.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    public var description: String { rfc3339 }

    /// The range RFC 3339 text can express with four-digit years.
    public static let earliest = Timestamp(
        millisecondsSinceEpoch: Int64(daysSinceEpoch(year: 1, month: 1, day: 1)) * 86_400_000)
    public static let latest = Timestamp(
        millisecondsSinceEpoch: Int64(daysSinceEpoch(year: 10_000, month: 1, day: 1)) * 86_400_000 - 1)

    public enum ParseError: Error, Equatable, Sendable {
        case malformed(String)
        case missingOffset
        case outOfRange

        public var message: String {
            switch self {
            case .malformed(let detail): "is not an RFC 3339 time (\(detail))"
            case .missingOffset: "has no UTC offset (write Z or +HH:MM)"
            case .outOfRange: "is out of range (years 0001 to 9999)"
            }
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t`, `z` and a space separator are accepted.
    public init(rfc3339 text: String) throws(ParseError) {
        var copy = text
        let parsed: Result<Int64, ParseError> = copy.withUTF8 { Self.parse($0) }
        self.millisecondsSinceEpoch = try parsed.get()
    }

    /// Parses the text's UTF-8; internal so that decoders can read a timestamp without a String.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<Int64, ParseError> {
        if let canonical = parseCanonical(bytes) { return canonical }
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for _ in 0..<count {
                let byte = bytes[index]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
                index += 1
            }
            return value
        }
        func expect(_ characters: UInt8...) -> Bool {
            guard index < bytes.count, characters.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2) else {
            return .failure(.malformed("expected YYYY-MM-DD"))
        }
        guard expect(UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")) else {
            return .failure(.malformed("expected T between date and time"))
        }
        guard let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A), let second = digits(2) else {
            return .failure(.malformed("expected HH:MM:SS"))
        }
        var milliseconds = 0
        if expect(UInt8(ascii: ".")) {
            var fractionDigits = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if fractionDigits < 3 { milliseconds = milliseconds * 10 + Int(bytes[index] - 0x30) }
                fractionDigits += 1
                index += 1
            }
            guard fractionDigits > 0 else { return .failure(.malformed("expected digits after '.'")) }
            for _ in fractionDigits..<max(fractionDigits, 3) { milliseconds *= 10 }
        }
        var offsetMinutes = 0
        if expect(UInt8(ascii: "Z"), UInt8(ascii: "z")) {
            offsetMinutes = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHours = digits(2), expect(0x3A), let offsetMinute = digits(2),
                offsetHours < 24, offsetMinute < 60
            else { return .failure(.malformed("expected an offset like +02:00")) }
            offsetMinutes = sign * (offsetHours * 60 + offsetMinute)
        } else if index == bytes.count {
            return .failure(.missingOffset)
        } else {
            return .failure(.malformed("unexpected text after the time"))
        }
        guard index == bytes.count else { return .failure(.malformed("unexpected text after the offset")) }
        return validated(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second,
            milliseconds: milliseconds, offsetMinutes: offsetMinutes)
    }

    /// The form Hermes writes, `YYYY-MM-DDTHH:MM:SS.mmmZ`, read by position: nearly every timestamp
    /// of a bulk import, where the general lexer showed in profiles. Nil for any other shape; the
    /// general lexer reads those, and reads this one to the same fields.
    private static func parseCanonical(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<Int64, ParseError>? {
        guard bytes.count == 24, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == UInt8(ascii: "T"),
            bytes[13] == 0x3A, bytes[16] == 0x3A, bytes[19] == UInt8(ascii: "."), bytes[23] == UInt8(ascii: "Z")
        else { return nil }
        var allDigits = true
        func number(_ start: Int, _ count: Int) -> Int {
            var value = 0
            for position in start..<(start + count) {
                let digit = bytes[position] &- 0x30
                allDigits = allDigits && digit < 10
                value = value &* 10 &+ Int(digit)
            }
            return value
        }
        let year = number(0, 4)
        let month = number(5, 2)
        let day = number(8, 2)
        let hour = number(11, 2)
        let minute = number(14, 2)
        let second = number(17, 2)
        let milliseconds = number(20, 3)
        guard allDigits else { return nil }
        return validated(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second,
            milliseconds: milliseconds, offsetMinutes: 0)
    }

    private static func validated(
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, milliseconds: Int, offsetMinutes: Int
    ) -> Result<Int64, ParseError> {
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour < 24, minute < 60, second <= 60
        else { return .failure(.malformed("a date or time field is out of range")) }
        // A leap second is folded onto the next second; millisecond order is kept.
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetMinutes * 60)
        let result = seconds * 1000 + Int64(milliseconds)
        let upper = Int64(daysSinceEpoch(year: 10_000, month: 1, day: 1)) * 86_400_000
        let lower = Int64(daysSinceEpoch(year: 1, month: 1, day: 1)) * 86_400_000
        guard result >= lower && result < upper else { return .failure(.outOfRange) }
        return .success(result)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public var rfc3339: String {
        withRFC3339Bytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Lends the 24 bytes of `rfc3339` from the stack, for writers that copy them anyway.
    public func withRFC3339Bytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.rfc3339Length) { out in
            // The allocation has the capacity asked for, so its base address exists.
            writeRFC3339(to: out.baseAddress.unsafelyUnwrapped)
            return body(UnsafeBufferPointer(out))
        }
    }

    public static let rfc3339Length = 24

    /// Writes the `rfc3339Length` bytes of `rfc3339` at `out`, for writers that keep the text in
    /// their own buffers. Digit by digit with constant divisors: a bulk import formats one per row.
    public func writeRFC3339(to out: UnsafeMutablePointer<UInt8>) {
        let milliseconds = Int(millisecondsSinceEpoch.floorMod(1000))
        let totalSeconds = millisecondsSinceEpoch.floorDiv(1000)
        let days = Int(totalSeconds.floorDiv(86_400))
        let secondOfDay = Int(totalSeconds.floorMod(86_400))
        let (year, month, day) = Self.civil(fromDays: days)
        func digit(_ value: Int, at offset: Int) { out[offset] = UInt8(0x30 + value) }
        func twoDigits(_ value: Int, at offset: Int) {
            digit(value / 10, at: offset)
            digit(value % 10, at: offset + 1)
        }
        twoDigits(year / 100 % 100, at: 0)
        twoDigits(year % 100, at: 2)
        out[4] = 0x2D
        twoDigits(month, at: 5)
        out[7] = 0x2D
        twoDigits(day, at: 8)
        out[10] = UInt8(ascii: "T")
        twoDigits(secondOfDay / 3600, at: 11)
        out[13] = 0x3A
        twoDigits(secondOfDay / 60 % 60, at: 14)
        out[16] = 0x3A
        twoDigits(secondOfDay % 60, at: 17)
        out[19] = UInt8(ascii: ".")
        digit(milliseconds / 100, at: 20)
        twoDigits(milliseconds % 100, at: 21)
        out[23] = UInt8(ascii: "Z")
    }

    public func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + milliseconds)
    }

    private static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days-from-civil and civil-from-days algorithms.
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}

extension Int64 {
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    fileprivate func floorMod(_ divisor: Int64) -> Int64 {
        self - floorDiv(divisor) * divisor
    }
}
