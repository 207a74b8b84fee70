import HermesCore
import HermesMeasure
import HermesTarget
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory under /tmp, for state and lock files.
func temporaryDirectory() throws -> String {
    var template = Array("/tmp/hermes-measure-test-XXXXXX".utf8CString)
    let path = try #require(mkdtemp(&template), "mkdtemp failed")
    return String(cString: path)
}

/// A hermes-target on a free loopback port, configured by `configure`.
func startTarget(_ configure: (inout TargetConfiguration) -> Void = { _ in }) throws -> TargetServer {
    try TargetServer.startOnLoopback(configure)
}

/// Settings for a run against `server` with its own state directory.
func settings(
    _ engine: MeasureSettings.Engine = .cloudflare, server: String?,
    _ configure: (inout MeasureSettings) -> Void = { _ in }
) throws -> MeasureSettings {
    var settings = MeasureSettings(stateDirectory: try temporaryDirectory())
    settings.engine = engine
    settings.server = server
    settings.duration = .seconds(8)
    settings.timeout = .seconds(40)
    configure(&settings)
    return settings
}

func measure(_ settings: MeasureSettings) -> Record {
    Measurement.run(settings, progress: LiveProgress(enabled: false))
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
