import Glibc
import HermesCore

/// The line a person watching a terminal sees while a test runs: phase, current rate, streams.
/// Only ever on standard error, and only when it is a terminal; redrawn at most four times a
/// second and erased before the tool exits.
public final class LiveProgress: @unchecked Sendable {
    private let isEnabled: Bool
    private let diagnostics: Diagnostics
    private var lastDraw: ContinuousClock.Instant?
    private var previous: (time: Duration, bytes: Int64)?
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
        previous = nil
        draw(text, force: true)
    }

    func show(_ direction: Direction, bytes: Int64, at time: Duration, streams: Int) {
        defer { previous = (time, bytes) }
        guard let previous, time > previous.time else { return }
        let megabits = Double(bytes - previous.bytes) * 8 / seconds(time - previous.time) / 1e6
        draw("\(direction.rawValue): \(formatted(megabits)) Mbit/s, \(streams) streams", force: false)
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

    private func formatted(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
