import ArgumentParser
import HermesCore

/// A duration flag's value, in the one syntax every tool reads (`DurationSyntax`): `10s`, `500ms`,
/// `2m`, `1h30m`, or a bare number in the flag's unit: seconds (`DurationArgument`), or
/// milliseconds where an older spelling had them (`MillisecondsArgument`, hermes-target's delays).
public struct DurationValue<Bare: BareDurationUnit>: ExpressibleByArgument, Sendable, Equatable,
    CustomStringConvertible
{
    public let duration: Duration

    public init(_ duration: Duration) {
        self.duration = duration
    }

    public init?(argument: String) {
        guard let duration = DurationSyntax.duration(argument, bareUnit: Bare.unit) else { return nil }
        self.duration = duration
    }

    public var seconds: Double { Double(duration / .microseconds(1)) / 1_000_000 }

    /// How help and messages show it: `10s`, `1h30m`, `500ms`.
    public var description: String { Self.format(duration) }
    public var defaultValueDescription: String { description }

    static func format(_ duration: Duration) -> String { DurationSyntax.format(duration) }

    /// Checks the value lies in `range` (and is more than 0 unless `allowsZero`), naming the flag.
    public func validate(_ flag: String, in range: ClosedRange<Duration>, allowsZero: Bool = false) throws {
        guard range.contains(duration), allowsZero || duration > .zero else {
            let upper = Self.format(range.upperBound)
            let bounds =
                allowsZero || range.lowerBound > .zero
                ? "\(Self.format(range.lowerBound)) to \(upper)" : "more than 0 and at most \(upper)"
            throw ValidationError("\(flag) must be \(bounds), got \(description)")
        }
    }
}

/// The unit of a bare number in a duration flag.
public protocol BareDurationUnit: Sendable {
    static var unit: DurationSyntax.Unit { get }
}

public enum BareSeconds: BareDurationUnit {
    public static let unit = DurationSyntax.Unit.seconds
}

public enum BareMilliseconds: BareDurationUnit {
    public static let unit = DurationSyntax.Unit.milliseconds
}

/// A duration flag whose bare number is seconds: every duration flag but hermes-target's delays.
public typealias DurationArgument = DurationValue<BareSeconds>

/// A duration flag whose bare number is milliseconds, as hermes-target's `--delay` always was.
public typealias MillisecondsArgument = DurationValue<BareMilliseconds>

/// A size flag's value (`ByteSize`): `65536`, `512K`, `64M`, `1G`.
public struct ByteSizeArgument: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    public let bytes: Int

    public init(_ bytes: Int) {
        self.bytes = bytes
    }

    public init?(argument: String) {
        guard let bytes = ByteSize.bytes(argument) else { return nil }
        self.bytes = bytes
    }

    public var description: String { ByteSize.format(bytes) }
    public var defaultValueDescription: String { description }
}
