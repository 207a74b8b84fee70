#if canImport(Glibc)
    import Glibc
#endif

/// A token bucket for one direction of one connection: each connection gets the full rate, so
/// N parallel streams may move N times the rate in total (a per-stream cap, like a server whose
/// uplink is wider than any one flow). The bucket holds at most `burst` bytes, about 10 ms of
/// traffic, so rates stay exact over any window longer than a few tens of milliseconds.
struct Pacer {
    let bytesPerSecond: Double
    let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(bytesPerSecond: Double) {
        self.bytesPerSecond = bytesPerSecond
        burst = max(1500, min(bytesPerSecond / 100, 1_048_576))
        tokens = 0
        last = .now
    }

    /// How many bytes to move next (at most `wanted`), waiting until the bucket allows some.
    mutating func grant(_ wanted: Int) -> Int {
        while true {
            let now = ContinuousClock.now
            tokens = min(burst, tokens + seconds(now - last) * bytesPerSecond)
            last = now
            let needed = max(1, min(Double(wanted), burst.rounded(.down)))
            if tokens >= needed {
                tokens -= needed
                return Int(needed)
            }
            let wait = (needed - tokens) / bytesPerSecond
            usleep(UInt32(max(100, min(wait * 1_000_000, 100_000))))
        }
    }

    private func seconds(_ duration: Duration) -> Double {
        let (whole, fraction) = duration.components
        return Double(whole) + Double(fraction) / 1e18
    }
}
