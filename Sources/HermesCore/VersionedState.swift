/// The envelope every Hermes state file shares (the alert state, hermes-measure's rate-limit
/// hold): one JSON object whose `"v"` names its format. Each tool handles what reading it finds
/// the same way:
/// - missing or empty: no state yet;
/// - damaged (not JSON, no version, a bad field): reported on standard error, and the tool goes on
///   with a fresh state, which replaces the file at the next save;
/// - written by a newer version: left alone, and the tool exits 78, so that going back to the
///   older version (or forward again) loses nothing.
public enum VersionedState {
    public struct Problem: Error, Equatable, Sendable {
        public var message: String
        /// The file names a format version after the newest this tool reads.
        public var isNewerFormat = false

        public init(_ message: String, isNewerFormat: Bool = false) {
            self.message = message
            self.isNewerFormat = isNewerFormat
        }
    }

    /// The object inside, once its version is one `tool` reads.
    public static func object(from bytes: [UInt8], tool: String, readable: ClosedRange<Int64>) throws(Problem)
        -> JSONObject
    {
        let value: JSONValue
        do throws(JSONParser.Failure) {
            value = try bytes.withUnsafeBufferPointer { (pointer) throws(JSONParser.Failure) in
                try JSONParser.parse(pointer)
            }
        } catch {
            throw Problem("invalid JSON: \(error.message)")
        }
        guard case .object(let object) = value else { throw Problem("not a JSON object") }
        guard case .integer(let version) = object["v"] ?? .null else { throw Problem("no version field \"v\"") }
        guard readable.contains(version) else {
            throw Problem(
                "format version \(version), this \(tool) reads versions \(readable.lowerBound) to \(readable.upperBound)",
                isNewerFormat: version > readable.upperBound)
        }
        return object
    }
}
