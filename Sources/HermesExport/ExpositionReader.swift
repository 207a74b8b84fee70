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
    /// the state. Samples with `link` or `server` labels belong to that series (with its `probe`);
    /// samples without are the one series of an unlabelled file, `SeriesKey.unkeyed`.
    static func state(from text: String, ignoring: Set<String> = []) -> MetricState {
        var bySeries: [SeriesKey: [String: [ParsedSample]]] = [:]
        var spoolSamples: [String: [ParsedSample]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard var sample = parse(line: Substring(line)) else { continue }
            for name in ignoring { sample.labels[name] = nil }
            if sample.name.hasPrefix("hermes_spool_") {
                spoolSamples[sample.name, default: []].append(sample)
                continue
            }
            var key = SeriesKey.unkeyed
            if sample.labels["link"] != nil || sample.labels["server"] != nil {
                key = SeriesKey(
                    probe: sample.labels["probe"] ?? "", link: sample.labels["link"] ?? "",
                    server: sample.labels["server"] ?? "")
                for name in ["probe", "link", "server"] { sample.labels[name] = nil }
            }
            bySeries[key, default: [:]][sample.name, default: []].append(sample)
        }
        var state = MetricState()
        state.spools = spools(spoolSamples)
        for (key, samples) in bySeries {
            guard var path = path(samples) else { continue }
            // A labelled series' info leaves its probe to the key.
            if key != .unkeyed, path.lastGood?.info.probe.isEmpty == true { path.lastGood?.info.probe = key.probe }
            state.series[key] = path
        }
        return state
    }

    private static func spools(_ samples: [String: [ParsedSample]]) -> [String: MetricState.SpoolGauges] {
        func value(_ name: String, labels: [String: String]) -> Double? {
            samples[name]?.first { $0.labels == labels }?.value
        }
        typealias Name = Exposition.Name
        var spools: [String: MetricState.SpoolGauges] = [:]
        for sample in samples[Name.spoolDropped] ?? [] {
            if let sink = sample.labels["sink"], sample.labels.count == 1 {
                spools[sink] = MetricState.SpoolGauges(
                    entries: count(value(Name.spoolEntries, labels: sample.labels)),
                    oldestSpooled: value(Name.spoolOldest, labels: sample.labels).flatMap(Units.timestamp(seconds:)),
                    dropped: count(value(Name.spoolDropped, labels: sample.labels)))
            }
        }
        return spools
    }

    private static func count(_ value: Double?) -> Int {
        value.flatMap { $0.isFinite && $0 >= 0 && $0 < 1e15 ? Int($0) : nil } ?? 0
    }

    /// One series' metrics from its samples (key labels removed); nil when it never ran.
    private static func path(_ samples: [String: [ParsedSample]]) -> MetricState.PathMetrics? {
        func value(_ name: String, labels: [String: String] = [:]) -> Double? {
            samples[name]?.first { $0.labels == labels }?.value
        }
        typealias Name = Exposition.Name
        guard let lastRun = value(Name.lastRun).flatMap(Units.timestamp(seconds:)) else { return nil }
        var path = MetricState.PathMetrics(lastRun: lastRun, lastRunSucceeded: value(Name.lastRunSuccess) == 1)
        path.counts.successes = count(value(Name.measurements, labels: ["result": "success"]))
        path.counts.failures = count(value(Name.measurements, labels: ["result": "failure"]))
        for kind in MeasurementFailure.ErrorKind.allCases {
            let kept = count(value(Name.failures, labels: ["error_kind": kind.rawValue]))
            if kept > 0 { path.counts.failuresByKind[kind] = kept }
        }
        guard let successSeconds = value(Name.lastSuccess), successSeconds > 0,
            let successTime = Units.timestamp(seconds: successSeconds)
        else { return path }
        let infoLabels = samples[Name.info]?.first?.labels ?? [:]
        path.lastGood = MetricState.GoodValues(
            timestamp: successTime,
            downloadBytesPerSecond: value(Name.download),
            uploadBytesPerSecond: value(Name.upload),
            idleLatencySeconds: value(Name.latency, labels: ["phase": "idle"]),
            downloadLatencySeconds: value(Name.latency, labels: ["phase": "download"]),
            uploadLatencySeconds: value(Name.latency, labels: ["phase": "upload"]),
            jitterSeconds: value(Name.jitter),
            packetLossRatio: value(Name.packetLoss),
            durationSeconds: value(Name.duration),
            downloadRPM: value(Name.responsiveness, labels: ["direction": "download"]),
            uploadRPM: value(Name.responsiveness, labels: ["direction": "upload"]),
            bothRPM: value(Name.responsiveness, labels: ["direction": "both"]),
            responsivenessConfidence: value(Name.responsivenessConfidence).flatMap { level -> String? in
                guard level.isFinite else { return nil }
                return
                    Exposition.confidenceLevels.indices.contains(Int(level))
                    ? Exposition.confidenceLevels[Int(level)] : nil
            },
            latencyIncreaseSeconds: value(Name.latencyIncrease),
            info: MetricState.Info(
                serverID: infoLabels["server_id"] ?? "", serverName: infoLabels["server_name"] ?? "",
                serverLocation: infoLabels["server_location"] ?? "", isp: infoLabels["isp"] ?? "",
                engine: infoLabels["engine"] ?? "", probe: infoLabels["probe"] ?? ""))
        return path
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
