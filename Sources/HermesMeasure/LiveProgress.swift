import Glibc
import HermesCore

/// The line a person watching a terminal sees while a test runs: phase, current rate, streams.
/// Only ever on standard error, and only when it is a terminal; redrawn at most four times a
/// second and erased before the tool exits.
public final class LiveProgress: @unchecked Sendable {
    private let isEnabled: Bool
    private let diagnostics: Diagnostics
    private var lastDraw: ContinuousClock.Instant?
    private var meter = RateMeter()
    private var uploadMeter = RateMeter()
    private var drawn = false

    public init(enabled: Bool, diagnostics: Diagnostics) {
        isEnabled = enabled
        self.diagnostics = diagnostics
    }

    /// Enabled when standard error is a terminal.
    public static func forStandardError(_ diagnostics: Diagnostics) -> LiveProgress {
        LiveProgress(enabled: isatty(2) == 1, diagnostics: diagnostics)
    }

    func phase(_ text: String) {
        meter = RateMeter()
        uploadMeter = RateMeter()
        draw(text, force: true)
    }

    func show(_ direction: Direction, bytes: Int64, at time: Duration, streams: Int) {
        guard let megabits = meter.megabits(bytes: bytes, at: time) else { return }
        draw("\(direction.rawValue): \(formatted(megabits)) Mbit/s, \(streams) streams", force: false)
    }

    /// Both directions at once (the parallel responsiveness test), each counted on its own clock:
    /// `download 99.9 + upload 42.9 Mbit/s, 5 + 5 connections`.
    func show(
        download: (bytes: Int64, at: Duration), upload: (bytes: Int64, at: Duration),
        connections: (download: Int, upload: Int)
    ) {
        let downloading = meter.megabits(bytes: download.bytes, at: download.at)
        let uploading = uploadMeter.megabits(bytes: upload.bytes, at: upload.at) ?? uploadMeter.last
        guard let downloading, let uploading else { return }
        draw(
            "download \(formatted(downloading)) + upload \(formatted(uploading)) Mbit/s, "
                + "\(connections.download) + \(connections.upload) connections", force: false)
    }

    /// What a stage found, on standard error as a diagnostic is (the record has the figures).
    func note(_ message: String) { warn(message) }

    /// What an optional stage found: said when it was asked for, or when a person watches the
    /// terminal; a run whose stage is only on by default stays silent on success.
    func note(_ message: String, asked: Bool) {
        if asked || isEnabled { warn(message) }
    }

    /// A diagnostic on standard error (whether or not it is a terminal), below the progress line.
    func warn(_ message: String) {
        if isEnabled && drawn { try? writeAll(Array("\r\u{1B}[K".utf8), to: 2, name: "standard error") }
        drawn = false
        diagnostics.report(message)
    }

    public func finish() {
        guard isEnabled && drawn else { return }
        try? writeAll(Array("\r\u{1B}[K".utf8), to: 2, name: "standard error")
        drawn = false
    }

    private func draw(_ text: String, force: Bool) {
        guard isEnabled else { return }
        let now = ContinuousClock.now
        if !force, let lastDraw, now - lastDraw < .milliseconds(250) { return }
        lastDraw = now
        drawn = true
        try? writeAll(Array("\r\u{1B}[Khermes-measure: \(text)".utf8), to: 2, name: "standard error")
    }

    /// A rate from successive byte counts of one load, over the last second: a count moves in
    /// steps (an upload's is what the socket took, a send buffer at a time), so a rate over one
    /// 100 ms sample would jump between multiples of a step, where a person wants the rate.
    struct RateMeter {
        static let window = Duration.seconds(1)
        private var counts: [(time: Duration, bytes: Int64)] = []
        /// The rate last measured.
        private(set) var last: Double?

        /// Mbit/s over the counts of the last second; nil for the first, or when no time has
        /// passed.
        mutating func megabits(bytes: Int64, at time: Duration) -> Double? {
            if let newest = counts.last, time <= newest.time { return nil }
            counts.append((time, bytes))
            // Keep the newest count at or before the window's start, so the window is whole.
            while counts.count > 2 && time - counts[1].time >= Self.window { counts.removeFirst() }
            guard let oldest = counts.first, counts.count > 1 else { return nil }
            last = Double(bytes - oldest.bytes) * 8 / seconds(time - oldest.time) / 1e6
            return last
        }
    }

    private func formatted(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
