import HermesCore

/// The Prometheus text exposition (format 0.0.4) of a `MetricState`: base units, the `hermes_`
/// prefix, no per-run labels and no sample timestamps (node_exporter's textfile collector refuses
/// files that carry them). Families without a value are left out rather than written as 0.
public enum Exposition {
    /// One metric family: `# HELP`, `# TYPE` and its samples, always written as one group.
    struct Family {
        var name: String
        var help: String
        var samples: [Sample]
        var type = "gauge"
    }

    struct Sample {
        var labels: [(name: String, value: String)] = []
        var value: Double
    }

    public enum Name {
        public static let download = "hermes_download_bytes_per_second"
        public static let upload = "hermes_upload_bytes_per_second"
        public static let latency = "hermes_latency_seconds"
        public static let jitter = "hermes_jitter_seconds"
        public static let packetLoss = "hermes_packet_loss_ratio"
        public static let duration = "hermes_measurement_duration_seconds"
        public static let lastRun = "hermes_last_run_timestamp_seconds"
        public static let lastSuccess = "hermes_last_success_timestamp_seconds"
        public static let lastRunSuccess = "hermes_last_run_success"
        public static let info = "hermes_result_info"
        public static let responsiveness = "hermes_responsiveness_rpm"
        public static let responsivenessConfidence = "hermes_responsiveness_confidence"
        public static let latencyIncrease = "hermes_latency_increase_seconds"
        public static let qualityRating = "hermes_quality_rating"
        public static let measurements = "hermes_measurements_total"
        public static let failures = "hermes_measurement_failures_total"
        public static let spoolEntries = "hermes_spool_entries"
        public static let spoolOldest = "hermes_spool_oldest_timestamp_seconds"
        public static let spoolDropped = "hermes_spool_dropped_total"
    }

    /// `labels` (`--label`) go on every sample, before the family's own.
    public static func render(
        _ state: MetricState, compatibility: Bool = false, labels: [(name: String, value: String)] = []
    ) -> String {
        var text = ""
        for family in families(of: state, compatibility: compatibility) where !family.samples.isEmpty {
            text += "# HELP \(family.name) \(escapeHelp(family.help))\n"
            text += "# TYPE \(family.name) \(family.type)\n"
            for sample in family.samples {
                text += family.name
                let all = labels + sample.labels
                if !all.isEmpty {
                    let labels = all.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }
                    text += "{" + labels.joined(separator: ",") + "}"
                }
                text += " " + format(sample.value) + "\n"
            }
        }
        return text
    }

    /// Every family, each with one set of samples per series; with several series (or
    /// `labelsSeries`), each sample carries its series' `probe`, `link` and `server`.
    static func families(of current: MetricState, compatibility: Bool) -> [Family] {
        var state = current
        state.dropRetiredSeries()
        var paths: [Family] = []
        var python: [Family] = []
        for key in state.keys {
            guard let path = state.series[key] else { continue }
            let keyLabels: [(name: String, value: String)] =
                state.isLabelled ? [("probe", key.probe), ("link", key.link), ("server", key.server)] : []
            let own =
                pathFamilies(path, keyed: !keyLabels.isEmpty) + counterFamilies(path.counts, ran: path.lastRun != nil)
            merge(own, labelled: keyLabels, into: &paths)
            if compatibility, let good = path.lastGood {
                merge(compatibilityFamilies(good), labelled: keyLabels, into: &python)
            }
        }
        return paths + spoolFamilies(state.spools) + python
    }

    /// Adds `families`' samples, each with `labels` in front of its own, to the family of the same
    /// name in `merged`: a family's samples are written together, whatever series they are of.
    private static func merge(
        _ families: [Family], labelled labels: [(name: String, value: String)], into merged: inout [Family]
    ) {
        for family in families {
            let samples = family.samples.map { Sample(labels: labels + $0.labels, value: $0.value) }
            if let index = merged.firstIndex(where: { $0.name == family.name }) {
                merged[index].samples += samples
            } else {
                var labelled = family
                labelled.samples = samples
                merged.append(labelled)
            }
        }
    }

    /// One path's gauges. `keyed`: its key labels go on every sample, so `hermes_result_info`
    /// leaves its own `probe` out.
    static func pathFamilies(_ path: MetricState.PathMetrics, keyed: Bool) -> [Family] {
        let good = path.lastGood
        func single(_ value: Double?) -> [Sample] { value.map { [Sample(value: $0)] } ?? [] }
        var latency: [Sample] = []
        for (phase, value) in [
            ("idle", good?.idleLatencySeconds), ("download", good?.downloadLatencySeconds),
            ("upload", good?.uploadLatencySeconds),
        ] {
            if let value { latency.append(Sample(labels: [("phase", phase)], value: value)) }
        }
        return [
            Family(
                name: Name.download,
                help: "Download throughput of the most recent successful measurement, in bytes per second.",
                samples: single(good?.downloadBytesPerSecond)),
            Family(
                name: Name.upload,
                help: "Upload throughput of the most recent successful measurement, in bytes per second.",
                samples: single(good?.uploadBytesPerSecond)),
            Family(
                name: Name.latency,
                help:
                    "Round-trip latency of the most recent successful measurement, in seconds: idle, and under load in the download and upload phases.",
                samples: latency),
            Family(
                name: Name.jitter,
                help: "Idle latency jitter of the most recent successful measurement, in seconds.",
                samples: single(good?.jitterSeconds)),
            Family(
                name: Name.packetLoss,
                help: "Packet loss of the most recent successful measurement, as a ratio from 0 to 1.",
                samples: single(good?.packetLossRatio)),
            Family(
                name: Name.duration,
                help: "How long the most recent successful measurement took, in seconds.",
                samples: single(good?.durationSeconds)),
            Family(
                name: Name.lastRun,
                help: "Unix time of the most recent measurement run, successful or not.",
                samples: single(path.lastRun.map(Units.seconds))),
            Family(
                name: Name.lastSuccess,
                help: "Unix time of the most recent successful measurement; 0 if none succeeded yet.",
                samples: path.lastRun == nil ? [] : [Sample(value: good.map { Units.seconds($0.timestamp) } ?? 0)]),
            Family(
                name: Name.lastRunSuccess,
                help: "1 if the most recent measurement run succeeded, 0 if it failed.",
                samples: path.lastRun == nil ? [] : [Sample(value: path.lastRunSucceeded ? 1 : 0)]),
            Family(
                name: Name.responsiveness,
                help:
                    "Responsiveness under working conditions (draft-ietf-ippm-responsiveness) of the most recent successful measurement, in round trips per minute, by loaded direction (both: the parallel test, the two loaded at once): poor < 300, fair < 1000, good < 6000, excellent above.",
                samples: [("download", good?.downloadRPM), ("upload", good?.uploadRPM), ("both", good?.bothRPM)]
                    .compactMap { direction, rpm in
                        rpm.map { Sample(labels: [("direction", direction)], value: $0) }
                    }),
            Family(
                name: Name.responsivenessConfidence,
                help:
                    "Confidence of the responsiveness figures: 0 low (fewer than 4 intervals ran), 1 medium (not stable in time), 2 high (stable).",
                samples: single(
                    good?.responsivenessConfidence.flatMap { Self.confidenceLevels.firstIndex(of: $0) }.map(Double.init)
                )),
            Family(
                name: Name.latencyIncrease,
                help:
                    "Latency added by load in the most recent successful measurement: the worse direction's loaded latency less the idle latency, in seconds.",
                samples: single(good?.latencyIncreaseSeconds)),
            Family(
                name: Name.qualityRating,
                help:
                    "Cloudflare AIM rating of the most recent successful measurement, by use case: 0 bad, 1 poor, 2 average, 3 good, 4 great.",
                samples: (good?.ratings ?? []).map { rating in
                    Sample(labels: [("use_case", rating.useCase.rawValue)], value: Double(rating.level.rawValue))
                }),
            Family(
                name: Name.info,
                help: "Server, ISP, engine and probe of the most recent successful measurement; always 1.",
                samples: good.map { good in
                    [Sample(labels: infoLabels(good.info).filter { !keyed || $0.name != "probe" }, value: 1)]
                } ?? []),
        ]
    }

    /// Both outcomes and every documented `error_kind`, 0 included, so that `rate()` and
    /// `increase()` have a series from the first run on.
    static func counterFamilies(_ counts: MetricState.Counts, ran: Bool) -> [Family] {
        guard ran else { return [] }
        return [
            Family(
                name: Name.measurements,
                help: "Measurement runs exported, by result (success or failure), counted across runs.",
                samples: [
                    Sample(labels: [("result", "success")], value: Double(counts.successes)),
                    Sample(labels: [("result", "failure")], value: Double(counts.failures)),
                ], type: "counter"),
            Family(
                name: Name.failures,
                help: "Failed measurement runs exported, by error_kind, counted across runs.",
                samples: MeasurementFailure.ErrorKind.allCases.map { kind in
                    Sample(labels: [("error_kind", kind.rawValue)], value: Double(counts.failuresByKind[kind] ?? 0))
                }, type: "counter"),
        ]
    }

    static func spoolFamilies(_ spools: [String: MetricState.SpoolGauges]) -> [Family] {
        let sinks = spools.keys.sorted()
        func samples(_ value: (MetricState.SpoolGauges) -> Double?) -> [Sample] {
            sinks.compactMap { sink in spools[sink].flatMap(value).map { Sample(labels: [("sink", sink)], value: $0) } }
        }
        return [
            Family(
                name: Name.spoolEntries, help: "Records waiting in the spool for a push sink.",
                samples: samples { Double($0.entries) }),
            Family(
                name: Name.spoolOldest,
                help: "Unix time the oldest record still waiting in the spool was spooled; absent when it is empty.",
                samples: samples { $0.oldestSpooled.map(Units.seconds) }),
            Family(
                name: Name.spoolDropped,
                help: "Records dropped from the spool at its size or age bound, counted across runs.",
                samples: samples { Double($0.dropped) }, type: "counter"),
        ]
    }

    /// `hermes_responsiveness_confidence`'s values, by level.
    static let confidenceLevels = ResponsivenessConfidence.allCases.map(\.rawValue)

    static func infoLabels(_ info: MetricState.Info) -> [(name: String, value: String)] {
        [
            ("server_id", info.serverID), ("server_name", info.serverName), ("server_location", info.serverLocation),
            ("isp", info.isp), ("engine", info.engine), ("probe", info.probe),
        ]
    }

    /// The four gauges of the Python Hermes exporter, with its names, HELP text and labels, so
    /// that dashboards built on it keep working.
    static func compatibilityFamilies(_ good: MetricState.GoodValues) -> [Family] {
        let labels = [
            ("server_name", good.info.serverName), ("server_location", good.info.serverLocation),
            ("isp_name", good.info.isp),
        ]
        func sample(_ value: Double?) -> [Sample] { value.map { [Sample(labels: labels, value: $0)] } ?? [] }
        return [
            Family(
                name: "hermes_download_mbps", help: "Last measured download speed in Mbit/s",
                samples: sample(good.downloadBytesPerSecond.map(Units.megabitsPerSecond(bytesPerSecond:)))),
            Family(
                name: "hermes_upload_mbps", help: "Last measured upload speed in Mbit/s",
                samples: sample(good.uploadBytesPerSecond.map(Units.megabitsPerSecond(bytesPerSecond:)))),
            Family(
                name: "hermes_ping_ms", help: "Last measured latency in milliseconds",
                samples: sample(good.idleLatencySeconds.map(Units.milliseconds(seconds:)))),
            Family(
                name: "hermes_jitter_ms",
                help: "Last measured jitter in milliseconds (None when not reported by server)",
                samples: sample(good.jitterSeconds.map(Units.milliseconds(seconds:)))),
        ]
    }

    /// A Go `ParseFloat` number: integers without a fraction, others in Swift's shortest
    /// round-tripping form (`0.0123`, `1.5e-05`).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Label values escape `\`, `"` and line feed.
    public static func escapeLabelValue(_ value: String) -> String { escape(value, quotes: true) }

    /// HELP text escapes only `\` and line feed.
    static func escapeHelp(_ value: String) -> String { escape(value, quotes: false) }

    private static func escape(_ value: String, quotes: Bool) -> String {
        var escaped = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"" where quotes: escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}

/// `--label name=value`: a label on every textfile sample and remote-write series, so several
/// instances on one host (or a fleet writing to one Prometheus) keep their own series.
public enum MetricLabels {
    /// The names hermes-export sets itself.
    public static let reserved: Set<String> = [
        "probe", "link", "server", "phase", "result", "error_kind", "sink", "server_id", "server_name",
        "server_location", "isp", "isp_name", "engine", "__name__",
    ]

    public static func label(_ pair: String) throws(ConfigurationError) -> (name: String, value: String) {
        guard let equals = pair.firstIndex(of: "=") else {
            throw ConfigurationError("--label \(pair): expected name=value")
        }
        let name = String(pair[..<equals])
        let value = String(pair[pair.index(after: equals)...])
        guard LokiConfiguration.isValidLabelName(name) else {
            throw ConfigurationError("--label \(pair): \"\(name)\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)")
        }
        guard !reserved.contains(name) else {
            throw ConfigurationError("--label \(pair): \(name) is set by hermes-export")
        }
        guard !value.isEmpty else { throw ConfigurationError("--label \(pair): the value is empty") }
        return (name, value)
    }
}
