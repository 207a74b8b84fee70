import HermesCore

/// One way of running a speed test. Each engine is a file; the run around it (deadline, lock,
/// back-off, the record) is shared.
protocol MeasurementEngine {
    /// Measures once. The result's timestamp, engine and probe are filled in by the caller.
    func measure(deadline: Deadline, progress: LiveProgress) throws(MeasureFailure) -> SpeedResult
}

extension MeasureSettings.Engine {
    func make(_ settings: MeasureSettings) -> any MeasurementEngine {
        switch self {
        case .cloudflare: CloudflareEngine(settings: settings)
        case .librespeed: LibreSpeedEngine(settings: settings)
        case .ooklaCLI: OoklaCLIEngine(settings: settings)
        case .nq: NQEngine(settings: settings)
        }
    }
}
