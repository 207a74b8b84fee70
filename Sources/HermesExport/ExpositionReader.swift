import HermesCore

/// Reads the state back from an exposition this tool wrote, so that a failure record can keep
/// the last good values. Lines it does not recognise (other families, comments) are skipped.
enum ExpositionReader {
    struct ParsedSample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// `ignoring`: the `--label` names, which every sample carries and which say nothing about
    /// the state.
    static func state(from text: String, ignoring: Set<String> = []) -> MetricState {
        var samples: [String: [ParsedSample]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            if var sample = parse(line: Substring(line)) {
                for name in ignoring { sample.labels[name] = nil }
                samples[sample.name, default: []].append(sample)
            }
        }
        func value(_ name: String, labels: [String: String] = [:]) -> Double? {
            samples[name]?.first { $0.labels == labels }?.value
        }
        func count(_ name: String, labels: [String: String]) -> Int {
            value(name, labels: labels).flatMap { $0.isFinite && $0 >= 0 && $0 < 1e15 ? Int($0) : nil } ?? 0
        }
        typealias Name = Exposition.Name
        var state = MetricState()
        for sample in samples[Name.spoolDropped] ?? [] {
            if let sink = sample.labels["sink"], sample.labels.count == 1 {
                state.spools[sink] = MetricState.SpoolGauges(
                    entries: count(Name.spoolEntries, labels: sample.labels),
                    oldestSpooled: value(Name.spoolOldest, labels: sample.labels).flatMap(Units.timestamp(seconds:)),
                    dropped: count(Name.spoolDropped, labels: sample.labels))
            }
        }
        guard let lastRun = value(Name.lastRun).flatMap(Units.timestamp(seconds:)) else { return state }
        state.counts.successes = count(Name.measurements, labels: ["result": "success"])
        state.counts.failures = count(Name.measurements, labels: ["result": "failure"])
        for kind in MeasurementFailure.ErrorKind.allCases {
            let kept = count(Name.failures, labels: ["error_kind": kind.rawValue])
            if kept > 0 { state.counts.failuresByKind[kind] = kept }
        }
        state.lastRun = lastRun
        state.lastRunSucceeded = value(Name.lastRunSuccess) == 1
        guard let successSeconds = value(Name.lastSuccess), successSeconds > 0,
            let successTime = Units.timestamp(seconds: successSeconds)
        else { return state }
        let infoLabels = samples[Name.info]?.first?.labels ?? [:]
        state.lastGood = MetricState.GoodValues(
            timestamp: successTime,
            downloadBytesPerSecond: value(Name.download),
            uploadBytesPerSecond: value(Name.upload),
            idleLatencySeconds: value(Name.latency, labels: ["phase": "idle"]),
            downloadLatencySeconds: value(Name.latency, labels: ["phase": "download"]),
            uploadLatencySeconds: value(Name.latency, labels: ["phase": "upload"]),
            jitterSeconds: value(Name.jitter),
            packetLossRatio: value(Name.packetLoss),
            durationSeconds: value(Name.duration),
            info: MetricState.Info(
                serverID: infoLabels["server_id"] ?? "", serverName: infoLabels["server_name"] ?? "",
                serverLocation: infoLabels["server_location"] ?? "", isp: infoLabels["isp"] ?? "",
                engine: infoLabels["engine"] ?? "", probe: infoLabels["probe"] ?? ""))
        return state
    }

    /// The line numbers (from 1) of lines that should be Hermes samples but are not: the
    /// `hermes_` prefix, then bytes this tool never writes (a damaged file, an editor's slip).
    static func damagedLines(in text: String) -> [Int] {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, line in
            line.hasPrefix("hermes_") && parse(line: Substring(line)) == nil ? index + 1 : nil
        }
    }

    /// `name{label="value",...} value`; nil for anything else.
    static func parse(line: Substring) -> ParsedSample? {
        var rest = line.drop { $0 == " " || $0 == "\t" }
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
        guard !name.isEmpty else { return nil }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while true {
                rest = rest.drop { $0 == " " || $0 == "," }
                if rest.first == "}" {
                    rest = rest.dropFirst()
                    break
                }
                let labelName = rest.prefix { $0 != "=" }
                rest = rest.dropFirst(labelName.count)
                guard rest.first == "=", rest.dropFirst().first == "\"" else { return nil }
                rest = rest.dropFirst(2)
                var value = ""
                var closed = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if character == "\"" {
                        closed = true
                        break
                    }
                    guard character == "\\" else {
                        value.append(character)
                        continue
                    }
                    guard let escaped = rest.first else { return nil }
                    rest = rest.dropFirst()
                    value.append(escaped == "n" ? "\n" : escaped)
                }
                guard closed else { return nil }
                labels[String(labelName).trimming()] = value
            }
        }
        let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 1, let value = Double(fields[0]) else { return nil }
        return ParsedSample(name: String(name), labels: labels, value: value)
    }
}
