import Glibc
import HermesCore

/// Runs the official Ookla `speedtest` CLI exactly as the Python Hermes did
/// (`--accept-license --accept-gdpr --format=json`) and converts its JSON: speedtest.net numbers
/// and packet loss, with Ookla's own server choice and rate limits.
struct OoklaCLIEngine: MeasurementEngine {
    let settings: MeasureSettings

    func measure(deadline: Deadline, progress: LiveProgress) throws(MeasureFailure) -> SpeedResult {
        let command = settings.speedtestCommand
        progress.phase("running \(command)")
        let outcome: Subprocess.Outcome
        do {
            var arguments = [command, "--accept-license", "--accept-gdpr", "--format=json"]
            // The CLI's own binding: -I by interface name, -i by source address.
            if let interface = settings.interface {
                arguments.append(settings.route.bindsAddress ? "--ip=\(interface)" : "--interface=\(interface)")
            }
            outcome = try Subprocess.run(arguments, timeLimit: deadline.remaining)
        } catch {
            guard case .cannotStart(let code) = error, code == ENOENT || code == EACCES else {
                throw MeasureFailure(.internal, "cannot run the Ookla speedtest CLI (\(command)): \(describe(error))")
            }
            throw MeasureFailure(
                .internal,
                "the Ookla speedtest CLI (\(command)) was not found or is not executable; install it from "
                    + "https://www.speedtest.net/apps/cli, or choose --engine cloudflare")
        }
        if outcome.timedOut { throw deadline.expired(during: "the Ookla speedtest CLI run") }

        var failure: MeasurementFailure?
        for line in lines(outcome.standardOutput) + lines(outcome.standardError) {
            guard let value = try? JSONParser.parse(line) else { continue }
            switch try? RecordDecoder.decode(value) {
            case .record(.result(let result))?:
                if outcome.status == 0 { return result }
            case .record(.failure(let logged))?:
                failure = failure ?? logged
            default:
                continue
            }
        }
        if let failure { throw MeasureFailure(failure.errorKind, failure.error) }
        let errorText = lines(outcome.standardError).first { !$0.isEmpty }
        guard let status = outcome.status, status == 0 else {
            let detail = errorText ?? "no message"
            let how = outcome.status.map { "exited with status \($0)" } ?? "was killed by a signal"
            let kind = outcome.status == 173 ? .rateLimited : OoklaForm.classify(detail)
            throw MeasureFailure(kind, "the Ookla speedtest CLI (\(command)) \(how): \(detail)")
        }
        throw MeasureFailure(
            .protocol, "the Ookla speedtest CLI (\(command)) printed no result this version understands")
    }

    private func lines(_ bytes: [UInt8]) -> [String] {
        bytes.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self).trimming(" \t\r") }
    }

    private func describe(_ error: Subprocess.Failure) -> String {
        switch error {
        case .cannotStart(let code): String(cString: strerror(code))
        }
    }
}
