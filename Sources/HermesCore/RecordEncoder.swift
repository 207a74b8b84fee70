/// Writes records in canonical v1 form: stable key order, compact, one `\n`-terminated line.
public enum RecordEncoder {
    public static func encode(_ record: Record) -> [UInt8] {
        var writer = JSONWriter()
        append(record, to: &writer)
        writer.newline()
        return writer.bytes
    }

    public static func line(_ record: Record) -> String {
        String(decoding: encode(record), as: UTF8.self)
    }

    public static func append(_ record: Record, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("v", Record.schemaVersion)
        switch record {
        case .result(let result):
            writer.field("type", "result")
            writer.field("timestamp", result.timestamp.rfc3339)
            writer.field("download_mbps", result.downloadMbps)
            writer.field("upload_mbps", result.uploadMbps)
            writer.field("ping_ms", result.pingMs)
            writer.field("jitter_ms", result.jitterMs)
            writer.field("isp_name", result.ispName)
            writer.field("server_name", result.serverName)
            writer.field("server_location", result.serverLocation)
            writer.field("server_id", result.serverID)
            let extensions = result.extensions
            writer.optionalField("engine", extensions.engine)
            writer.optionalField("server_url", extensions.serverURL)
            writer.optionalField("client_ip", extensions.clientIP)
            writer.optionalField("probe", extensions.probe)
            writer.optionalField("download_latency_ms", extensions.downloadLatencyMs)
            writer.optionalField("upload_latency_ms", extensions.uploadLatencyMs)
            writer.optionalField("packet_loss_pct", extensions.packetLossPct)
            writer.optionalField("download_bytes", extensions.downloadBytes)
            writer.optionalField("upload_bytes", extensions.uploadBytes)
            writer.optionalField("duration_ms", extensions.durationMs)
            writer.optionalField("streams", extensions.streams)
            appendUnknown(result.unknownFields, to: &writer)
        case .failure(let failure):
            writer.field("type", "failure")
            writer.field("timestamp", failure.timestamp.rfc3339)
            writer.field("error", failure.error)
            writer.field("error_kind", failure.errorKind.rawValue)
            writer.optionalField("engine", failure.engine)
            writer.optionalField("server_url", failure.serverURL)
            writer.optionalField("probe", failure.probe)
            appendUnknown(failure.unknownFields, to: &writer)
        }
        writer.endObject()
    }

    private static func appendUnknown(_ fields: JSONObject, to writer: inout JSONWriter) {
        for member in fields.members { writer.field(member.key, member.value) }
    }
}
