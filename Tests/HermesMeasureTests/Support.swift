import HermesCore
import HermesMeasure
import HermesTarget
import HermesTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A hermes-target on a free loopback port, configured by `configure`.
func startTarget(_ configure: (inout TargetConfiguration) -> Void = { _ in }) throws -> TargetServer {
    try TargetServer.startOnLoopback(configure)
}

/// Settings for a run against `server`, with state and lock in `scratch`.
func settings(
    in scratch: TemporaryDirectory, _ engine: MeasureSettings.Engine = .cloudflare, server: String?,
    _ configure: (inout MeasureSettings) -> Void = { _ in }
) throws -> MeasureSettings {
    var settings = MeasureSettings(stateDirectory: scratch.file("state"))
    settings.engine = engine
    settings.server = server
    settings.duration = .seconds(8)
    settings.timeout = .seconds(40)
    configure(&settings)
    return settings
}

/// A short run against `server` (300 ms and 2 MB each way at most): enough to read what the
/// server's answers say, not to measure a link.
func briefMeasure(
    in scratch: TemporaryDirectory, _ engine: MeasureSettings.Engine = .cloudflare, server: String
) throws -> Record {
    measure(
        try settings(in: scratch, engine, server: server) {
            $0.duration = .milliseconds(300)
            $0.maxBytes = 2_000_000
        })
}

func measure(_ settings: MeasureSettings) -> Record {
    measureAll(settings)[0]
}

/// Every record of a run, one per server.
func measureAll(_ settings: MeasureSettings) -> [Record] {
    Measurement.records(
        settings, progress: LiveProgress(enabled: false, diagnostics: Diagnostics(tool: "hermes-measure")))
}

extension Record {
    var result: SpeedResult? {
        if case .result(let result) = self { result } else { nil }
    }
    var failure: MeasurementFailure? {
        if case .failure(let failure) = self { failure } else { nil }
    }
}

/// Whether `measured` is within `percent` % of `expected`.
func within(_ percent: Double, _ measured: Double?, of expected: Double) -> Bool {
    guard let measured else { return false }
    return abs(measured - expected) <= expected * percent / 100
}
