import Foundation
import HermesTestSupport
import Testing

/// grafana/hermes-dashboard.json against what hermes-export really writes.
@Suite struct DashboardTests {
    /// A result with every optional measurement, so that every metric family is written.
    static let fullResult =
        #"{"v":1,"type":"result","timestamp":"2026-05-01T12:00:00.000Z","download_mbps":480.5,"upload_mbps":41.25,"ping_ms":11.5,"jitter_ms":0.75,"isp_name":"Example Fibre","server_name":"Frankfurt","server_location":"Frankfurt, Germany","server_id":"fra","engine":"cloudflare","probe":"home","download_latency_ms":35.5,"upload_latency_ms":60,"packet_loss_pct":0.5,"duration_ms":21000,"responsiveness_rpm":480,"download_responsiveness_rpm":720,"upload_responsiveness_rpm":480,"responsiveness_confidence":"high","responsiveness_self_probe":"tcp_info","responsiveness_interval_ms":5000,"latency_increase_ms":48.5,"bufferbloat_grade":"B"}"#
    static let failure =
        #"{"v":1,"type":"failure","timestamp":"2026-05-01T12:30:00.000Z","error":"could not connect to speed.example","error_kind":"connect","engine":"cloudflare","probe":"home"}"#

    struct Query {
        var datasource: String
        var expression: String
    }

    /// Every query in the dashboard: panel targets and variable queries, with their data source type.
    static func queries() throws -> [Query] {
        let url = ManualTests.packageRoot.appendingPathComponent("grafana/hermes-dashboard.json")
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var queries: [Query] = []
        func visit(_ value: Any) {
            if let object = value as? [String: Any] {
                if let expression = object["expr"] as? String,
                    let datasource = (object["datasource"] as? [String: Any])?["type"] as? String
                {
                    queries.append(Query(datasource: datasource, expression: expression))
                }
                if object["type"] as? String == "query", let query = object["query"] as? [String: Any],
                    let text = query["query"] as? String
                {
                    queries.append(Query(datasource: "prometheus", expression: text))
                }
                object.values.forEach(visit)
            } else if let array = value as? [Any] {
                array.forEach(visit)
            }
        }
        visit(dashboard)
        return queries
    }

    /// The metric names a PromQL expression reads (also inside `label_values(metric, label)`).
    static func metricNames(in expression: String) -> Set<String> {
        if let variable = expression.wholeMatch(
            of: /label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{[^}]*\})?\s*,.*\)/)
        {
            return [String(variable.1)]
        }
        var text = expression.replacing(/"(?:[^"\\]|\\.)*"/, with: "\"\"")
        text = text.replacing(/\{[^}]*\}/, with: " ")
        text = text.replacing(/\[[^\]]*\]/, with: " ")
        text = text.replacing(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/, with: " ")
        let keywords: Set<String> = [
            "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
        ]
        var names: Set<String> = []
        for match in text.matches(of: /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/) where match.2 == nil {
            let name = String(match.1)
            if !keywords.contains(name) { names.insert(name) }
        }
        return names
    }

    /// A result of a probe that measures several paths: its link and server.
    static let pathResult = fullResult.replacingOccurrences(
        of: #""probe":"home""#, with: #""server_url":"https://speed.cloudflare.com","probe":"home","link":"wan1""#)

    @Test func metricNamesAreReadFromQueries() {
        #expect(Self.metricNames(in: #"time() - hermes_x{instance=~"$i"} * 8"#) == ["hermes_x"])
        #expect(Self.metricNames(in: "sum by (job) (rate(a_total[5m])) / b") == ["a_total", "b"])
        #expect(Self.metricNames(in: "label_values(hermes_y, instance)") == ["hermes_y"])
        #expect(Self.metricNames(in: #"label_values(hermes_y{instance=~"$instance"}, link)"#) == ["hermes_y"])
    }

    /// Every metric a panel or variable queries is one hermes-export writes, and every family it
    /// writes is charted somewhere.
    @Test func everyMetricQueriedIsOneHermesExportWrites() throws {
        // A Loki that is down, so that the spool's families are written too.
        let outcome = try Executable.named("hermes-export").run(
            ["--prometheus", "--loki", "http://127.0.0.1:\(try closedLoopbackPort())", "--loki-retries", "0"],
            stdin: Self.fullResult + "\n")
        try #require(outcome.status == 0, "\(outcome.stderr)")
        let written = Set(
            outcome.stdout.matches(of: #/(?m)^\# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) /#).map { String($0.1) })
        #expect(written.count >= 10, "\(outcome.stdout)")
        let prometheus = try Self.queries().filter { $0.datasource == "prometheus" }
        #expect(prometheus.count >= 10)
        var queried: Set<String> = []
        for query in prometheus {
            let names = Self.metricNames(in: query.expression)
            #expect(!names.isEmpty, "no metric in \(query.expression)")
            #expect(names.isSubset(of: written), "\(query.expression) reads \(names.subtracting(written))")
            queried.formUnion(names)
        }
        #expect(queried == written, "not charted: \(written.subtracting(queried))")
    }

    /// The Loki panels select the stream hermes-export pushes (job hermes_speedtest by default,
    /// type result/failure) and read fields that its canonical records carry.
    @Test func lokiQueriesReadFieldsOfTheRecordsPushed() throws {
        let help = try Executable.named("hermes-export").run(["--help"]).stdout.replacing(/\s+/, with: " ")
        #expect(help.contains("else hermes_speedtest"), "the default job label changed")
        let url = ManualTests.packageRoot.appendingPathComponent("grafana/hermes-dashboard.json")
        let dashboard = try String(contentsOf: url, encoding: .utf8)
        #expect(dashboard.contains(#""name": "job""#) && dashboard.contains(#""query": "hermes_speedtest""#))

        let tee = try Executable.named("hermes-export").run(
            ["--tee", "--textfile", try TemporaryDirectory().file("h.prom")],
            stdin: Self.fullResult + "\n" + Self.failure + "\n" + Self.pathResult + "\n")
        var fields: Set<String> = []
        for line in tee.stdout.split(separator: "\n") {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            fields.formUnion(record.keys)
        }
        let loki = try Self.queries().filter { $0.datasource == "loki" }
        #expect(loki.count >= 4)
        #expect(
            loki.contains { $0.expression == #"{job="$job"} | json | link=~"$link" | server_url=~"$server""# },
            "the panel of every record")
        for query in loki {
            #expect(query.expression.contains(#"{job="$job""#) && query.expression.contains("| json"))
            for selector in query.expression.matches(of: /type="([a-z]+)"/) {
                #expect(["result", "failure"].contains(String(selector.1)))
            }
            var used = query.expression.matches(of: /unwrap ([a-z_]+)/).map { String($0.1) }
            used += query.expression.matches(of: /\{\{\.([a-z_]+)\}\}/).map { String($0.1) }
            used += query.expression.matches(of: /by \(([a-z_]+)\) \(count/).map { String($0.1) }
            used += query.expression.matches(of: /\| ([a-z_]+)=~/).map { String($0.1) }
            for field in used {
                #expect(fields.contains(field), "\(query.expression) reads \(field), which records do not carry")
            }
        }
    }
}
