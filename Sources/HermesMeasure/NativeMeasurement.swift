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
        var phasesLeft = (settings.download ? 1 : 0) + (settings.upload ? 1 : 0)
        func phase(_ direction: Direction) throws(MeasureFailure) -> PhaseResult {
            // Leave the later phase its share of the deadline.
            let share = (deadline.remaining - .seconds(1)) / phasesLeft
            phasesLeft -= 1
            let cap = min(settings.duration, max(share, .seconds(1)))
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
            if !result.estimate.isSteady && cap < settings.duration {
                progress.warn(
                    "--timeout left the \(direction.rawValue) \(tenths(cap)) s, too short for a steady window of "
                        + "\(Int(seconds(estimator.minimumSteady))) s after ramp-up; its rate may read low")
            }
            return result
        }
        let download = settings.download ? try phase(.download) : nil
        let upload = settings.upload ? try phase(.upload) : nil
        return SpeedResult(
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
