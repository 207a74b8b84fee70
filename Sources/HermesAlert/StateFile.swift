import Glibc
import HermesCore

/// The state file, held under an exclusive `flock` from `open` until the object goes away, and
/// replaced atomically by `save`: two runs at once take turns, and a killed run leaves the old
/// state or the new one.
public final class StateFile {
    public static let defaultName = "alert-state.json"

    public let path: String
    private let file: LockedFile
    private let existed: Bool

    /// Creates missing parent directories, then waits for the lock.
    public init(path: String) throws(IOError) {
        self.path = path
        try FileSystem.createParentDirectories(of: path)
        existed = FileSystem.exists(path)
        file = try LockedFile(path: path, flags: O_RDWR | O_CREAT)
    }

    /// A state file written by a newer hermes-alert: kept as it is, not replaced by a fresh
    /// state, so going back to an older version loses nothing.
    public struct NewerFormat: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The stored state, or a fresh one with the reason when the file was missing or unreadable.
    /// Throws `NewerFormat` for a state file this version cannot read but must not replace.
    public func load() throws -> (state: AlertBook, problem: String?) {
        let contents = try FileSystem.readAll(file.descriptor, path: path)
        guard !contents.isEmpty else {
            let reason = existed ? "is empty" : "did not exist"
            return (AlertBook(), "state file \(path) \(reason); starting with a fresh state")
        }
        switch StateCoding.decode(contents) {
        case .success(let state): return (state, nil)
        case .failure(let problem) where problem.isNewerFormat:
            throw NewerFormat(
                description: "state file \(path) has \(problem.message): upgrade hermes-alert or move the file away")
        case .failure(let problem):
            return (AlertBook(), "state file \(path) is damaged (\(problem.message)); starting with a fresh state")
        }
    }

    public func save(_ state: AlertBook) throws(IOError) {
        try FileSystem.atomicReplace(path, with: StateCoding.encode(state))
    }

    /// Reads a state file without locking or creating it (the rename in `save` means a reader
    /// never sees a torn file); nil when there is no state yet.
    public static func read(path: String) throws(IOError) -> Result<AlertBook, StateCoding.Problem>? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw IOError(operation: "open", path: path, code: errno)
        }
        defer { close(descriptor) }
        let contents = try FileSystem.readAll(descriptor, path: path)
        // Empty: created by a run that was stopped before it saved anything.
        guard !contents.isEmpty else { return nil }
        return StateCoding.decode(contents)
    }
}

/// The state as one JSON object: `{"v":3,"series":[{"probe":…,"link":…,"server":…,` then one
/// series' state: `"last_record":…,"last_error":…,"rules":{"failure":{"consecutive":3,
/// "firing_since":…,"last_notified":…,"notified":{"ntfy":…}}},"owed_recoveries":[…]}]}`. Versions 1
/// and 2 held one series' state at the top level; a state saved before deliveries were kept per
/// provider has only `last_notified`, which counts for every provider.
public enum StateCoding {
    /// The envelope's problems (`VersionedState`), and this state's own.
    public typealias Problem = VersionedState.Problem

    public static func encode(_ state: AlertState) -> [UInt8] { encode(AlertBook(state)) }

    public static func encode(_ book: AlertBook) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("v", AlertBook.formatVersion)
        writer.key("series")
        writer.beginArray()
        for key in book.keys {
            writer.beginObject()
            writer.field("probe", key.probe)
            writer.field("link", key.link)
            writer.field("server", key.server)
            encode(book[key], into: &writer)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        writer.newline()
        return writer.bytes
    }

    private static func encode(_ state: AlertState, into writer: inout JSONWriter) {
        writer.field("last_record", state.lastRecord?.rfc3339)
        writer.field("last_error", state.lastError)
        writer.key("rules")
        writer.beginObject()
        for rule in state.rules.keys.sorted() {
            let ruleState = state[rule]
            writer.key(rule.rawValue)
            writer.beginObject()
            writer.field("consecutive", Int64(ruleState.consecutive))
            if ruleState.consecutiveGood > 0 { writer.field("consecutive_good", Int64(ruleState.consecutiveGood)) }
            writer.field("firing_since", ruleState.firingSince?.rfc3339)
            writer.field("last_notified", ruleState.lastNotified?.rfc3339)
            let notified = ruleState.notified.sorted { $0.key < $1.key }.map { name, time in
                JSONMember(key: name, value: .string(time.rfc3339))
            }
            writer.field("notified", .object(JSONObject(notified)))
            if !ruleState.notifiedOnBoot.isEmpty {
                // {"provider":{"boot":"<boot_id>","ms":<milliseconds since boot>}}: older versions
                // ignore it and count on the wall clock alone.
                let onBoot = ruleState.notifiedOnBoot.sorted { $0.key < $1.key }.map { name, reading in
                    JSONMember(
                        key: name,
                        value: .object(
                            JSONObject([
                                JSONMember(key: "boot", value: .string(reading.boot)),
                                JSONMember(key: "ms", value: .integer(reading.milliseconds)),
                            ])))
                }
                writer.field("notified_on_boot", .object(JSONObject(onBoot)))
            }
            writer.endObject()
        }
        writer.endObject()
        if !state.owedRecoveries.isEmpty {
            let owed = state.owedRecoveries.map { recovery in
                JSONValue.object(
                    JSONObject([
                        "rule": .string(recovery.rule.rawValue),
                        "providers": .array(recovery.providers.map { .string($0) }),
                        "title": .string(recovery.title), "message": .string(recovery.message),
                        "timestamp": .string(recovery.timestamp.rfc3339), "since": .string(recovery.since.rfc3339),
                    ]))
            }
            writer.field("owed_recoveries", .array(owed))
        }
    }

    public static func decode(_ bytes: [UInt8]) -> Result<AlertBook, Problem> {
        do throws(Problem) {
            let object = try VersionedState.object(
                from: bytes, tool: "hermes-alert", readable: AlertBook.readableFormatVersions)
            guard case .integer(3)? = object["v"] else { return .success(AlertBook(try state(object))) }
            guard case .array(let entries) = object["series"] ?? .array([]) else {
                throw Problem("\"series\" is not an array")
            }
            var book = AlertBook()
            for entry in entries {
                guard case .object(let fields) = entry else { throw Problem("an entry of \"series\" is not an object") }
                let key = SeriesKey(
                    probe: try string(fields["probe"], "series.probe") ?? "",
                    link: try string(fields["link"], "series.link") ?? "",
                    server: try string(fields["server"], "series.server") ?? "")
                guard book.series[key] == nil else { throw Problem("the series \(key) appears twice") }
                book[key] = try state(fields)
            }
            return .success(book)
        } catch {
            return .failure(error)
        }
    }

    /// One series' state: the fields of a version 1 or 2 file, or of an entry of `series`.
    private static func state(_ object: JSONObject) throws(Problem) -> AlertState {
        var state = AlertState()
        state.lastRecord = try time(object["last_record"], "last_record")
        state.lastError = try string(object["last_error"], "last_error")
        if case .object(let rules) = object["rules"] ?? .null {
            for member in rules.members {
                guard let rule = AlertRule(rawValue: member.key) else { continue }
                guard case .object(let fields) = member.value else {
                    throw Problem("rule \(member.key) is not an object")
                }
                guard case .integer(let consecutive) = fields["consecutive"] ?? .null, consecutive >= 0,
                    consecutive <= Int64(Int32.max)
                else { throw Problem("rule \(member.key) has no valid \"consecutive\"") }
                var notified: [String: Timestamp] = [:]
                if case .object(let providers) = fields["notified"] ?? .null {
                    for provider in providers.members {
                        notified[provider.key] = try time(provider.value, "\(member.key).notified")
                    }
                } else if let last = try time(fields["last_notified"], "\(member.key).last_notified") {
                    notified[AlertState.everyProvider] = last
                }
                var onBoot: [String: BootClock.Reading] = [:]
                if case .object(let providers) = fields["notified_on_boot"] ?? .null {
                    for provider in providers.members {
                        guard case .object(let reading) = provider.value,
                            case .string(let boot)? = reading["boot"],
                            case .integer(let milliseconds)? = reading["ms"]
                        else { throw Problem("rule \(member.key) has an invalid \"notified_on_boot\"") }
                        onBoot[provider.key] = BootClock.Reading(boot: boot, milliseconds: milliseconds)
                    }
                }
                var good = 0
                if case .integer(let count) = fields["consecutive_good"] ?? .null,
                    (0...Int64(Int32.max)).contains(count)
                {
                    good = Int(count)
                }
                state[rule] = RuleState(
                    consecutive: Int(consecutive), consecutiveGood: good,
                    firingSince: try time(fields["firing_since"], "\(member.key).firing_since"),
                    notified: notified, notifiedOnBoot: onBoot)
            }
        } else if object["rules"] != nil {
            throw Problem("\"rules\" is not an object")
        }
        if case .array(let owed) = object["owed_recoveries"] ?? .null {
            state.owedRecoveries = try owed.map(owedRecovery)
        }
        return state
    }

    private static func owedRecovery(_ value: JSONValue) throws(Problem) -> OwedRecovery {
        guard case .object(let fields) = value,
            let rule = try string(fields["rule"], "owed_recoveries.rule").flatMap(AlertRule.init(rawValue:)),
            case .array(let providers) = fields["providers"] ?? .null,
            let timestamp = try time(fields["timestamp"], "owed_recoveries.timestamp"),
            let since = try time(fields["since"], "owed_recoveries.since")
        else { throw Problem("an entry of \"owed_recoveries\" is incomplete") }
        var names: [String] = []
        for provider in providers {
            guard case .string(let name) = provider else { throw Problem("an owed recovery names no provider") }
            names.append(name)
        }
        return OwedRecovery(
            rule: rule, providers: names, title: try string(fields["title"], "owed_recoveries.title") ?? "",
            message: try string(fields["message"], "owed_recoveries.message") ?? "", timestamp: timestamp,
            since: since)
    }

    private static func string(_ value: JSONValue?, _ name: String) throws(Problem) -> String? {
        switch value ?? .null {
        case .null: return nil
        case .string(let text): return text
        default: throw Problem("\"\(name)\" is not a string")
        }
    }

    private static func time(_ value: JSONValue?, _ name: String) throws(Problem) -> Timestamp? {
        guard let text = try string(value, name) else { return nil }
        do throws(Timestamp.ParseError) {
            return try Timestamp(rfc3339: text)
        } catch {
            throw Problem("\"\(name)\" \(error.message)")
        }
    }
}
