/// The Python Hermes `SpeedResult.to_dict()` object: no `v` or `type`, timestamps with any offset.
enum PythonForm {
    static func decode(_ object: JSONObject) throws(RecordDecoder.Rejection) -> SpeedResult {
        var fields = Fields(object)
        for key in ["download_mbps", "upload_mbps", "ping_ms", "server_name", "server_location"] where !object.has(key)
        {
            throw .init("missing required field \"\(key)\" of a Python Hermes result")
        }
        return SpeedResult(
            timestamp: try fields.timestamp(),
            downloadMbps: try fields.optionalMeasure("download_mbps"),
            uploadMbps: try fields.optionalMeasure("upload_mbps"),
            pingMs: try fields.requiredMeasure("ping_ms"),
            jitterMs: try fields.optionalMeasure("jitter_ms"),
            ispName: try fields.optionalString("isp_name"),
            serverName: try fields.optionalString("server_name") ?? "",
            serverLocation: try fields.optionalString("server_location") ?? "",
            serverID: try fields.serverID()
        )
    }
}
