import HermesCore

/// A line chart as inline SVG: series over time, failures drawn where they happened, axes with
/// units and UTC dates, a legend, and a `<title>` for screen readers. No script and nothing fetched.
struct Chart {
    struct Series {
        var name: String
        var cssClass: String
        var points: [(time: Timestamp, value: Double)]
    }

    var title: String
    var unit: String
    var series: [Series]
    var failures: [MeasurementFailure]
    var start: Timestamp
    var end: Timestamp

    static let width = 720.0
    static let height = 240.0
    static let left = 56.0
    static let right = 12.0
    static let top = 24.0
    static let bottom = 28.0
    /// Above this many points a series is cut into buckets of time, each keeping its lowest and
    /// highest value, so that a dip stays visible however long the window.
    static let maximumPoints = 800

    func svg() -> String {
        let plotWidth = Self.width - Self.left - Self.right
        let plotHeight = Self.height - Self.top - Self.bottom
        let values = series.flatMap { $0.points.map(\.value) }
        let (step, intervals) = Self.valueTicks(values.max() ?? 1)
        let upper = step * Double(intervals)
        let span = Double(max(1, end.millisecondsSinceEpoch - start.millisecondsSinceEpoch))
        func x(_ time: Timestamp) -> Double {
            Self.left + Double(time.millisecondsSinceEpoch - start.millisecondsSinceEpoch) / span * plotWidth
        }
        func y(_ value: Double) -> Double { Self.top + plotHeight - value / upper * plotHeight }

        var out = "<svg class=\"chart\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" role=\"img\""
        out += " aria-label=\"\(HTML.escape(title))\"><title>\(HTML.escape(title))</title>"
        // Horizontal grid and the value axis.
        for tick in 0...intervals {
            let value = step * Double(tick)
            let position = Self.format(y(value))
            out +=
                "<line class=\"grid\" x1=\"\(Self.format(Self.left))\" x2=\"\(Self.format(Self.width - Self.right))\""
            out += " y1=\"\(position)\" y2=\"\(position)\"/>"
            out += "<text class=\"tick\" x=\"\(Self.format(Self.left - 6))\" y=\"\(position)\" text-anchor=\"end\""
            out += " dominant-baseline=\"middle\">\(Self.tickLabel(value))</text>"
        }
        out += "<text class=\"unit\" x=\"0\" y=\"14\">"
        out += "\(HTML.escape(unit))</text>"
        // Time axis: dates at whole days when the window spans days, else hours.
        for tick in Self.timeTicks(start: start, end: end) {
            let position = Self.format(x(tick.time))
            out += "<line class=\"grid\" x1=\"\(position)\" x2=\"\(position)\" y1=\"\(Self.format(Self.top))\""
            out += " y2=\"\(Self.format(Self.top + plotHeight))\"/>"
            out += "<text class=\"tick\" x=\"\(position)\" y=\"\(Self.format(Self.height - 8))\""
            out += " text-anchor=\"middle\">\(tick.label)</text>"
        }
        // Failures where they happened, each with its kind and sentence.
        for failure in failures {
            let position = Self.format(x(failure.timestamp))
            out += "<line class=\"failure\" x1=\"\(position)\" x2=\"\(position)\" y1=\"\(Self.format(Self.top))\""
            out += " y2=\"\(Self.format(Self.top + plotHeight))\"><title>"
            out +=
                "\(Digest.minute(failure.timestamp)) UTC: \(failure.errorKind.rawValue): \(HTML.escape(failure.error))"
            out += "</title></line>"
        }
        for line in series {
            let points = Self.decimated(line.points)
            let path = points.map { "\(Self.format(x($0.time))),\(Self.format(y($0.value)))" }.joined(separator: " ")
            out += "<polyline class=\"series \(line.cssClass)\" data-points=\"\(points.count)\" points=\"\(path)\">"
            out += "<title>\(HTML.escape(line.name))</title></polyline>"
            if points.count == 1, let point = points.first {
                out += "<circle class=\"series \(line.cssClass)\" cx=\"\(Self.format(x(point.time)))\""
                out += " cy=\"\(Self.format(y(point.value)))\" r=\"3\"/>"
            }
        }
        out += "</svg>"
        var legend = "<p class=\"legend\">"
        for line in series {
            legend += "<span class=\"key \(line.cssClass)\">\(HTML.escape(line.name))</span> "
        }
        if !failures.isEmpty { legend += "<span class=\"key failure\">failed test</span>" }
        legend += "</p>"
        return "<figure>" + out + legend + "</figure>"
    }

    /// The lowest and highest of each time bucket, in time order, when there are too many points.
    static func decimated(_ points: [(time: Timestamp, value: Double)]) -> [(time: Timestamp, value: Double)] {
        guard points.count > maximumPoints, let first = points.first, let last = points.last else { return points }
        let buckets = maximumPoints / 2
        let span = max(1, last.time.millisecondsSinceEpoch - first.time.millisecondsSinceEpoch + 1)
        var grouped: [[(time: Timestamp, value: Double)]] = Array(repeating: [], count: buckets)
        for point in points {
            let offset = point.time.millisecondsSinceEpoch - first.time.millisecondsSinceEpoch
            grouped[min(buckets - 1, Int(offset * Int64(buckets) / span))].append(point)
        }
        return grouped.flatMap { bucket -> [(time: Timestamp, value: Double)] in
            guard let low = bucket.min(by: { $0.value < $1.value }), let high = bucket.max(by: { $0.value < $1.value })
            else { return [] }
            if low.time == high.time { return [low] }
            return low.time < high.time ? [low, high] : [high, low]
        }
    }

    /// The smallest step of 1, 2 or 5 times a power of ten that reaches `maximum` in at most five
    /// intervals, and how many it takes: ticks a person reads at a glance (0, 200, 400 … 1000).
    static func valueTicks(_ maximum: Double) -> (step: Double, intervals: Int) {
        guard maximum > 0, maximum.isFinite else { return (1, 1) }
        var magnitude = 1.0
        while magnitude * 10 <= maximum / 5 { magnitude *= 10 }
        while magnitude > maximum / 5 { magnitude /= 10 }
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { maximum / $0 <= 5 } ?? magnitude * 10
        return (step, max(1, Int((maximum / step).rounded(.up))))
    }

    /// Up to about six ticks at round times: minutes or hours (with the date at midnight) for
    /// short windows, days or Mondays for weeks, the first of a month (with its year in January)
    /// for longer ones.
    static func timeTicks(start: Timestamp, end: Timestamp) -> [(time: Timestamp, label: String)] {
        let span = end.millisecondsSinceEpoch - start.millisecondsSinceEpoch
        guard span > 0 else { return [(start, String(Digest.minute(start).suffix(5)))] }
        let minute: Int64 = 60_000
        let hour = 60 * minute
        let day = 24 * hour
        // 1970-01-01 was a Thursday; weeks are counted from the Monday after it.
        let monday = 4 * day
        let steps: [Int64] = [
            10 * minute, 15 * minute, 30 * minute, hour, 2 * hour, 3 * hour, 6 * hour, 12 * hour, day, 2 * day,
            7 * day, 14 * day,
        ]
        guard let step = steps.first(where: { span / $0 <= 6 }) else { return monthTicks(start: start, end: end) }
        let origin: Int64 = step >= 7 * day ? monday : 0
        var tick = ((start.millisecondsSinceEpoch - origin) / step + 1) * step + origin
        var ticks: [(Timestamp, String)] = []
        while tick < end.millisecondsSinceEpoch {
            let time = Timestamp(millisecondsSinceEpoch: tick)
            let label =
                step >= day || tick % day == 0 ? monthDay(time) : String(Digest.minute(time).suffix(5))
            ticks.append((time, label))
            tick += step
        }
        return ticks
    }

    /// The first of each month (every second or third month for long windows), `Jun`, and
    /// `Jan 2027` where a year begins.
    static func monthTicks(start: Timestamp, end: Timestamp) -> [(time: Timestamp, label: String)] {
        let text = start.rfc3339
        var year = Int(text.prefix(4)) ?? 1970
        var month = Int(text.dropFirst(5).prefix(2)) ?? 1
        let months = Int((end.millisecondsSinceEpoch - start.millisecondsSinceEpoch) / (30 * 86_400_000))
        let every = months <= 6 ? 1 : months <= 12 ? 2 : months <= 24 ? 4 : 12
        var ticks: [(Timestamp, String)] = []
        while true {
            month += 1
            if month > 12 { (year, month) = (year + 1, 1) }
            let monthText = month < 10 ? "0\(month)" : "\(month)"
            guard let time = try? Timestamp(rfc3339: "\(year)-\(monthText)-01T00:00:00Z"), time < end
            else { break }
            if (month - 1) % every == 0 {
                ticks.append((time, month == 1 ? "Jan \(year)" : Self.months[month - 1]))
            }
        }
        return ticks
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Jun 1`.
    static func monthDay(_ time: Timestamp) -> String {
        let text = time.rfc3339
        let month = Int(text.dropFirst(5).prefix(2)) ?? 1
        let day = Int(text.dropFirst(8).prefix(2)) ?? 1
        return "\(months[max(0, min(11, month - 1))]) \(day)"
    }

    /// `0`, `25`, `2.5`, `0.25`: no decimals a whole tick does not need.
    static func tickLabel(_ value: Double) -> String {
        if value == value.rounded() { return String(Int64(value)) }
        var text = String(value)
        if text.count > 6 { text = String((value * 100).rounded() / 100) }
        return text
    }

    static func format(_ value: Double) -> String {
        String((value * 10).rounded() / 10)
    }
}

/// Text made safe to place in HTML, in element content and in quoted attributes alike.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
