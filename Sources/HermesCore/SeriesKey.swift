/// Which path a record measured: its probe, its link and its server (docs/ARCHITECTURE.md, "Series").
/// hermes-export keeps one set of samples, and hermes-alert one alert state, per key.
///
/// The server is the record's `server_url`, which results and failures both carry, so that a
/// failure counts against the same series as the results of that server. Not `server_id`: an
/// anycast service (speed.cloudflare.com) names the data centre that answered there, which
/// changes from run to run, and failures have none; the Python Hermes's records, which have no
/// `server_url`, are all one series, as they always were.
public struct SeriesKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Empty where the record has none.
    public var probe: String
    public var link: String
    public var server: String

    public init(probe: String = "", link: String = "", server: String = "") {
        self.probe = probe
        self.link = link
        self.server = server
    }

    public init(_ record: Record) {
        let values = record.values
        probe = values[.probe].text ?? ""
        link = values[.link].text ?? ""
        server = values[.serverURL].text ?? ""
    }

    /// The key of everything written before there were several: state files of older versions.
    public static let unkeyed = SeriesKey()

    public static func < (lhs: SeriesKey, rhs: SeriesKey) -> Bool {
        (lhs.probe, lhs.link, lhs.server) < (rhs.probe, rhs.link, rhs.server)
    }

    /// "link wan2, server https://…" for people; the probe only when `withProbe`.
    public func phrase(withProbe: Bool = false) -> String {
        var parts: [String] = []
        if withProbe && !probe.isEmpty { parts.append("probe \(probe)") }
        if !link.isEmpty { parts.append("link \(link)") }
        if !server.isEmpty { parts.append("server \(server)") }
        return parts.joined(separator: ", ")
    }

    public var description: String { phrase(withProbe: true) }
}

extension Dictionary where Key == SeriesKey {
    /// The key `record`'s state is kept under: its own. What was kept before there were keys (an
    /// older version's state file, a textfile written while there was one series) sits under
    /// `SeriesKey.unkeyed` and belongs to the first series that arrives, so an upgrade keeps a
    /// running streak, counters and last values.
    public mutating func key(for record: Record) -> SeriesKey {
        let key = SeriesKey(record)
        if self[key] == nil, key != .unkeyed, count == 1, let old = self[.unkeyed] {
            self[.unkeyed] = nil
            self[key] = old
        }
        return key
    }
}
