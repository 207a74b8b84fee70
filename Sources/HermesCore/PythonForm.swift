/// The Python Hermes `SpeedResult.to_dict()` object: no `v` or `type`, timestamps with any offset.
/// Its fields are the ones `RecordSchema` marks as Python's.
enum PythonForm {
    static func decode(_ object: JSONObject) throws(RecordDecoder.Rejection) -> SpeedResult {
        for field in pythonFields where field.python == .always && !object.has(field.key) {
            throw .init("missing required field \"\(field.key)\" of a Python Hermes result")
        }
        var fields = Fields(object)
        let timestamp = try fields.timestamp()
        var values = RecordValues()
        for field in pythonFields { values[field] = try fields.value(of: field) }
        return SpeedResult(timestamp: timestamp, values: values)
    }

    private static let pythonFields = RecordSchema.fields.filter { $0.python != nil && $0.kind != .timestamp }
}
