import HermesCore

/// Who was measured against, as the engine learned it.
struct ServerDescription: Sendable {
    var name: String
    var location = ""
    var id: String?
    var isp: String?
    var clientIP: String?
}

/// The measurement every native engine shares: idle latency, then each direction asked for.
struct NativeMeasurement {
    let endpoints: any SpeedTestEndpoints
    let settings: MeasureSettings
    let deadline: Deadline
    let progress: LiveProgress

    /// Idle latency first: it also proves the server answers before any data moves.
    func idleLatency() throws(MeasureFailure) -> LatencySummary {
        progress.phase("latency to \(endpoints.serverURL)")
        return try LatencyProber(endpoints: endpoints).idle(count: settings.latencySamples, deadline: deadline)
    }

    func run(idle: LatencySummary, server: ServerDescription) throws(MeasureFailure) -> SpeedResult {
        let directions = [settings.download ? Direction.download : nil, settings.upload ? .upload : nil].compactMap {
            $0
        }
        let responsivenessTests =
            switch settings.responsiveness {
            case .off: 0
            case .sequential: directions.count
            case .parallel: 1
            }
        // Leave each later phase its share of the deadline. The throughput tests share it among
        // themselves: the optional responsiveness tests, on by default, never shorten them, and
        // take what they leave.
        var phasesLeft = directions.count
        func share(atMost most: Duration) -> Duration {
            defer { phasesLeft -= 1 }
            return min(most, max((deadline.remaining - .seconds(1)) / phasesLeft, .seconds(1)))
        }
        func phase(_ direction: Direction) throws(MeasureFailure) -> PhaseResult {
            let cap = share(atMost: settings.duration)
            let estimator: EstimatorSettings =
                switch direction {
                case .download:
                    .download(maxDuration: cap, maxBytes: settings.maxBytes, maxStreams: settings.maxStreams)
                case .upload:
                    .upload(maxDuration: cap, maxBytes: settings.maxBytes, maxStreams: settings.maxStreams)
                }
            progress.phase("\(direction.rawValue) from \(endpoints.serverURL)")
            let result = try TransferPhase(
                direction: direction, endpoints: endpoints, settings: estimator, deadline: deadline,
                progress: progress
            ).run()
            // A test that ran out of time before a steady window says so, whether the deadline or
            // a short --duration cut it; one that --max-bytes or a stable rate ended does not. A
            // window a sample or a ramp check short of the mark is no news worth a line a run.
            let window = result.estimate.windowEnd - result.estimate.windowStart
            if !result.estimate.isSteady && result.stopReason == .duration {
                let steady = "a steady window of \(Int(seconds(estimator.minimumSteady))) s"
                if cap < settings.duration {
                    progress.warn(
                        "--timeout left the \(direction.rawValue) \(tenths(cap)) s, too short for \(steady) after "
                            + "ramp-up; its rate may read low")
                } else if window < estimator.minimumSteady - .milliseconds(500) {
                    progress.warn(
                        "--duration \(tenths(cap)) s left the \(direction.rawValue) \(tenths(window)) s after its "
                            + "\(tenths(result.estimate.windowStart)) s ramp-up, short of \(steady); its rate may be off"
                    )
                }
            }
            return result
        }
        let download = settings.download ? try phase(.download) : nil
        let upload = settings.upload ? try phase(.upload) : nil
        var result = SpeedResult(
            timestamp: Timestamp.now(),
            downloadMbps: download.map { rounded($0.estimate.megabitsPerSecond) },
            uploadMbps: upload.map { rounded($0.estimate.megabitsPerSecond) },
            pingMs: rounded(idle.medianMilliseconds), jitterMs: idle.jitterMilliseconds.map(rounded),
            ispName: server.isp, serverName: server.name, serverLocation: server.location, serverID: server.id,
            extensions: SpeedResult.Extensions(
                serverURL: endpoints.serverURL, clientIP: server.clientIP,
                downloadLatencyMs: download?.loadedLatency.map { rounded($0.medianMilliseconds) },
                uploadLatencyMs: upload?.loadedLatency.map { rounded($0.medianMilliseconds) },
                downloadBytes: download?.estimate.totalBytes, uploadBytes: upload?.estimate.totalBytes,
                streams: [download?.streams, upload?.streams].compactMap { $0 }.max().map(Int64.init),
                serverTiming: idle.serverTiming, ipVersion: idle.ipVersion.map(Int64.init)))
        guard settings.responsiveness != .off else { return result }
        phasesLeft = responsivenessTests
        let interval = settings.responsivenessParameters.interval
        // A responsiveness test's share of what is left, or nil when that is less than an
        // interval: an optional test, on by default, runs where the deadline leaves room; asked
        // for, it says why not.
        func room(for test: String) -> Duration? {
            let limit = share(atMost: settings.responsivenessDuration)
            guard limit < interval else { return limit }
            if settings.responsivenessAsked {
                progress.warn(
                    "\(test) was skipped: \(tenths(limit)) s of the deadline were left, less than one interval "
                        + "(\(tenths(interval)) s); a longer --timeout makes room")
            }
            return nil
        }

        if settings.responsiveness == .parallel, let download, let upload {
            guard let limit = room(for: "the parallel responsiveness test") else {
                result.apply(responsiveness: [:], interval: interval)
                return result
            }
            progress.phase("responsiveness while downloading and uploading")
            do {
                let outcome = try ParallelResponsivenessStage(
                    endpoints: endpoints, parameters: settings.responsivenessParameters, limit: limit,
                    deadline: deadline, progress: progress,
                    initialGoodput: download.estimate.bitsPerSecond + upload.estimate.bitsPerSecond,
                    asked: settings.responsivenessAsked
                ).run()
                result.apply(parallel: outcome, interval: interval)
            } catch {
                progress.warn(
                    "the parallel responsiveness test failed: \(error.message); the throughput result stands")
                result.apply(responsiveness: [:], interval: interval)
            }
            return result
        }
        // Sequential, or parallel with one direction left to load: that direction's test.
        var outcomes: [Direction: ResponsivenessOutcome] = [:]
        for (direction, phase) in [(Direction.download, download), (.upload, upload)] {
            guard let phase else { continue }
            let doing = direction == .download ? "downloading" : "uploading"
            // An optional test: whatever stops it, the throughput test's result stands.
            guard let limit = room(for: "the responsiveness test while \(doing)") else { continue }
            progress.phase("responsiveness while \(doing)")
            do {
                outcomes[direction] = try ResponsivenessStage(
                    direction: direction, endpoints: endpoints, parameters: settings.responsivenessParameters,
                    limit: limit, deadline: deadline, progress: progress,
                    initialGoodput: phase.estimate.bitsPerSecond, asked: settings.responsivenessAsked
                ).run()
            } catch {
                progress.warn(
                    "the responsiveness test while \(doing) failed: \(error.message); the throughput result stands")
            }
        }
        result.apply(responsiveness: outcomes, interval: settings.responsivenessParameters.interval)
        return result
    }
}

extension SpeedResult {
    /// The responsiveness tests' fields, and the latency increase and bufferbloat grade of the
    /// throughput test's loaded latency; the bytes the tests moved count in the directions' totals.
    mutating func apply(responsiveness outcomes: [Direction: ResponsivenessOutcome], interval: Duration) {
        let download = outcomes[.download]
        let upload = outcomes[.upload]
        values[.downloadResponsivenessRPM] = FieldValue(download?.score.map { $0.rpm.rounded() })
        values[.uploadResponsivenessRPM] = FieldValue(upload?.score.map { $0.rpm.rounded() })
        let scored = outcomes.values.filter { $0.score != nil }
        values[.responsivenessRPM] = FieldValue(scored.compactMap { $0.score?.rpm.rounded() }.min())
        values[.responsivenessConfidence] = FieldValue(scored.map(\.confidence).min()?.rawValue)
        if !scored.isEmpty {
            let methods = scored.compactMap(\.selfProbeMethod)
            values[.responsivenessSelfProbe] = FieldValue(
                (methods.contains(.tcpInfo) ? SelfProbeMethod.tcpInfo : methods.first)?.rawValue)
            values[.responsivenessIntervalMs] = .integer(Int64((seconds(interval) * 1000).rounded()))
        }
        if let bytes = download?.bytes, let total = values[.downloadBytes].integer {
            values[.downloadBytes] = .integer(total + bytes)
        }
        if let bytes = upload?.bytes, let total = values[.uploadBytes].integer {
            values[.uploadBytes] = .integer(total + bytes)
        }
        applyLatencyIncrease()
    }

    /// The parallel test's one score: the per-direction scores stay absent, as no direction was
    /// loaded alone.
    mutating func apply(parallel outcome: ParallelResponsivenessOutcome, interval: Duration) {
        let combined = outcome.combined
        if let score = combined.score {
            values[.responsivenessRPM] = .number(score.rpm.rounded())
            values[.responsivenessConfidence] = .text(combined.confidence.rawValue)
            values[.responsivenessSelfProbe] = FieldValue(combined.selfProbeMethod?.rawValue)
            values[.responsivenessIntervalMs] = .integer(Int64((seconds(interval) * 1000).rounded()))
        }
        if let total = values[.downloadBytes].integer {
            values[.downloadBytes] = .integer(total + outcome.downloadBytes)
        }
        if let total = values[.uploadBytes].integer {
            values[.uploadBytes] = .integer(total + outcome.uploadBytes)
        }
        applyLatencyIncrease()
    }

    private mutating func applyLatencyIncrease() {
        if let increase = latencyIncreaseMilliseconds(of: self) {
            values[.latencyIncreaseMs] = .number(rounded(increase))
            values[.bufferbloatGrade] = .text(BufferbloatGrade(increaseMilliseconds: increase).rawValue)
        }
    }
}

private func tenths(_ duration: Duration) -> String {
    let tenths = Int((seconds(duration) * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

/// Two decimals, as the Python Hermes stored them; finer digits would claim a precision no
/// speed test has.
func rounded(_ value: Double) -> Double {
    (value * 100).rounded() / 100
}
