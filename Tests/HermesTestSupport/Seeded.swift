import Foundation

/// A small seeded generator for the fault tests, so that a failing run can be repeated from the
/// seed it printed (`HERMES_TEST_SEED=<seed>`).
package struct Seeded: Sendable {
    package var state: UInt64

    package init(state: UInt64) { self.state = state }

    /// The seed of this run: `HERMES_TEST_SEED`, else the time.
    package static var seed: UInt64 {
        UInt64(ProcessInfo.processInfo.environment["HERMES_TEST_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
    }

    /// A number in `0..<bound`.
    package mutating func next(below bound: UInt64) -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (state >> 33) % bound
    }
}
