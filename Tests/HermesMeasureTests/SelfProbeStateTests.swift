import HermesHTTP
import Testing

@testable import HermesMeasure

/// How a worker decides between HTTP/2 self probes and TCP_INFO, from what its probes came back
/// as: table-driven on synthetic responses.
@Suite struct SelfProbeStateTests {
    enum Outcome {
        /// A 200 on a reused connection (`newConnections` 0) or a new one, in this HTTP version.
        case answered(reused: Bool, version: Int)
        case failed
    }

    static func result(_ outcome: Outcome) -> Result<HTTPResponse, HTTPError> {
        switch outcome {
        case .answered(let reused, let version):
            .success(
                HTTPResponse(
                    status: 200,
                    metrics: TransferMetrics(
                        total: .milliseconds(42), newConnections: reused ? 0 : 1, httpVersion: version),
                    displayURL: "https://a/small"))
        case .failed:
            .failure(HTTPError(kind: .timeout, message: "timed out"))
        }
    }

    @Test(arguments: [
        // One stream on a load connection settles it: HTTP/2, filed.
        ([Outcome.answered(reused: true, version: 2)], SelfProbeMethod?.some(.http2), 1),
        // An HTTP/1.1 answer settles the other way at once.
        ([.answered(reused: false, version: 1)], .some(.tcpInfo), 0),
        // A probe that beat the load's handshake came on its own HTTP/2 connection: not filed,
        // not settled; the next one rides.
        ([.answered(reused: false, version: 2), .answered(reused: true, version: 2)], .some(.http2), 1),
        // Three that never rode fall back.
        ([.failed, .answered(reused: false, version: 2), .failed], .some(.tcpInfo), 0),
        ([.failed, .failed], nil, 0),
        // Once riding, failures are retried, never a switch of method mid-test.
        (
            [.answered(reused: true, version: 2), .failed, .failed, .failed, .answered(reused: true, version: 2)],
            .some(.http2), 2
        ),
    ])
    func theMethodFollowsWhatTheProbesFound(outcomes: [Outcome], method: SelfProbeMethod?, filed: Int) {
        var state = SelfProbeState(secure: true)
        #expect(state.method == nil)
        let ledger = ProbeLedger()
        for outcome in outcomes {
            state.inFlight = 7
            state.finish(Self.result(outcome), into: ledger)
            #expect(state.inFlight == nil)
        }
        #expect(state.method == method)
        let probes = ledger.probes(from: .now - .seconds(60), to: .now + .seconds(1))
        #expect(probes.loaded.count == filed)
        #expect(probes.loaded.allSatisfy { $0 == 42 })
        // Every probe not filed asks for another, so the foreign probe keeps its pair.
        var wanted = 0
        while ledger.takeSelfProbeRequest() { wanted += 1 }
        #expect(wanted == outcomes.count - filed)
        #expect(ledger.selfProbeMethod == (filed > 0 ? .http2 : nil))
    }

    @Test func plainHTTPGoesStraightToTheRoundTrip() {
        #expect(SelfProbeState(secure: false).method == .tcpInfo)
    }
}
