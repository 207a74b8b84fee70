import HermesAlert
import HermesCore

#if canImport(Glibc)
    import Glibc
#endif

/// Record times: minute `n` after a fixed start.
func at(_ minute: Int, second: Int = 0) -> Timestamp {
    Timestamp(millisecondsSinceEpoch: 1_780_000_000_000 + Int64(minute) * 60_000 + Int64(second) * 1000)
}

func failure(_ minute: Int, _ error: String = "could not connect to speed.example") -> Record {
    .failure(MeasurementFailure(timestamp: at(minute), error: error, errorKind: .connect))
}

func result(_ minute: Int, download: Double? = 100, upload: Double? = 20, ping: Double = 10) -> Record {
    .result(SpeedResult(timestamp: at(minute), downloadMbps: download, uploadMbps: upload, pingMs: ping))
}

/// Applies records in order at the given clock times, collecting what the engine asks to send.
struct Scenario {
    var engine: AlertEngine
    var state = AlertState()

    /// The boot clock is off: these scenarios move the wall clock alone (`feed(_:now:)`), as a
    /// machine that reboots between runs would. `BootClockTests` moves both.
    init(_ policy: AlertPolicy = AlertPolicy()) {
        engine = AlertEngine(policy: policy)
        engine.bootClock = { nil }
    }

    /// The notifications for `record`, the clock reading `now` (default: the record's time).
    mutating func feed(_ record: Record, now: Timestamp? = nil) -> [AlertNotification] {
        switch engine.apply(record, to: &state, now: now ?? record.timestamp) {
        case .ignored: []
        case .applied(let notifications): notifications
        }
    }
}
