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
        let upper = Self.niceCeiling(values.max() ?? 1)
        let span = Double(max(1, end.millisecondsSinceEpoch - start.millisecondsSinceEpoch))
        func x(_ time: Timestamp) -> Double {
            Self.left + Double(time.millisecondsSinceEpoch - start.millisecondsSinceEpoch) / span * plotWidth
        }
        func y(_ value: Double) -> Double { Self.top + plotHeight - value / upper * plotHeight }

        var out = "<svg class=\"chart\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" role=\"img\""
        out += " aria-label=\"\(HTML.escape(title))\"><title>\(HTML.escape(title))</title>"
        // Horizontal grid and the value axis.
        for step in 0...4 {
            let value = upper * Double(step) / 4
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

    /// 1, 2 or 5 times a power of ten, at or above `value`: axis ticks a person reads at a glance.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= value { magnitude *= 10 }
        while magnitude > value { magnitude /= 10 }
        for factor in [1.0, 2.0, 2.5, 5.0, 10.0] where magnitude * factor >= value { return magnitude * factor }
        return magnitude * 10
    }

    /// Up to about six ticks: whole days (`Jun 1`) for windows over two days, else whole hours.
    static func timeTicks(start: Timestamp, end: Timestamp) -> [(time: Timestamp, label: String)] {
        let span = end.millisecondsSinceEpoch - start.millisecondsSinceEpoch
        guard span > 0 else { return [(start, Digest.minute(start).suffix(5).description)] }
        let hour: Int64 = 3_600_000
        let day = 24 * hour
        let steps: [Int64] = [hour, 2 * hour, 3 * hour, 6 * hour, 12 * hour, day, 2 * day, 7 * day, 14 * day, 30 * day]
        let step = steps.first { span / $0 <= 6 } ?? 90 * day
        var tick = (start.millisecondsSinceEpoch / step + 1) * step
        var ticks: [(Timestamp, String)] = []
        while tick < end.millisecondsSinceEpoch {
            let time = Timestamp(millisecondsSinceEpoch: tick)
            ticks.append((time, step >= day ? monthDay(time) : String(Digest.minute(time).suffix(5))))
            tick += step
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
