import HermesCore

/// Somewhere records are kept: SQLite or the Python Hermes CSV. One file per implementation.
public protocol RecordStore: AnyObject {
    /// Shown in diagnostics: the path.
    var location: String { get }
    /// Appends records (committed, or written under lock) before returning. `durable` asks for
    /// them to be on disk too, surviving a power cut: worth an fsync for a timer run's record,
    /// not for every batch of a bulk import.
    func append(_ records: [Record], durable: Bool) throws(StoreError)
    /// Deletes what the policy no longer keeps; returns how many records went.
    func applyRetention(_ policy: RetentionPolicy, now: Timestamp) throws(StoreError) -> Int
    /// Records matching the query, in the order it asks for.
    func query(_ query: RecordQuery) throws(StoreError) -> [Record]
    /// Called once when input ends: checkpoints and releases resources.
    func close() throws(StoreError)
}

extension RecordStore {
    public func append(_ records: [Record]) throws(StoreError) {
        try append(records, durable: false)
    }
}

/// How much history to keep. Both limits may apply; nil means unlimited.
public struct RetentionPolicy: Equatable, Sendable {
    public var maximumAgeDays: Int?
    public var maximumRows: Int?

    public init(maximumAgeDays: Int? = nil, maximumRows: Int? = nil) {
        self.maximumAgeDays = maximumAgeDays
        self.maximumRows = maximumRows
    }

    public var isUnlimited: Bool { maximumAgeDays == nil && maximumRows == nil }

    /// Nil when nothing is old enough: no age limit, or one reaching back before year 1.
    func cutoff(now: Timestamp) -> Timestamp? {
        guard let days = maximumAgeDays else { return nil }
        let (age, overflow) = Int64(days).multipliedReportingOverflow(by: 86_400_000)
        guard !overflow, age <= now.millisecondsSinceEpoch - Timestamp.earliest.millisecondsSinceEpoch else {
            return nil
        }
        return now.adding(milliseconds: -age)
    }
}

/// A read-back request: `hermes-store query`.
public struct RecordQuery: Equatable, Sendable {
    public enum Kinds: String, Sendable, CaseIterable {
        case result, failure, all
    }

    public var since: Timestamp?
    public var until: Timestamp?
    public var limit: Int?
    public var offset: Int
    public var kinds: Kinds
    /// Oldest first instead of newest first.
    public var chronological: Bool
    /// Only records of this `link`.
    public var link: String?
    /// Only records of this server: its `server_url`, or its `server_id`.
    public var server: String?

    public init(
        since: Timestamp? = nil, until: Timestamp? = nil, limit: Int? = nil, offset: Int = 0,
        kinds: Kinds = .result, chronological: Bool = false
    ) {
        self.since = since
        self.until = until
        self.limit = limit
        self.offset = offset
        self.kinds = kinds
        self.chronological = chronological
    }

    func matches(_ record: Record) -> Bool {
        if kinds != .all && record.kind.rawValue != kinds.rawValue { return false }
        if let since, record.timestamp < since { return false }
        if let until, record.timestamp > until { return false }
        let values = record.values
        if let link, values[.link].text != link { return false }
        if let server, values[.serverURL].text != server && values[.serverID].text != server { return false }
        return true
    }
}
