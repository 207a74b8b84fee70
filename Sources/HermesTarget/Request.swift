import HermesCore

/// One parsed request head.
struct Request {
    var method: String
    var path: String
    var query: [String: String]
    var version: String
    /// Header names in lower case, in arrival order.
    var headers: [(name: String, value: String)]

    func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// The whole number in query parameter `name`: `fallback` when the parameter is absent, nil
    /// when it is not a number (the caller answers 400).
    func integer(query name: String, default fallback: Int) -> Int? {
        guard let text = query[name] else { return fallback }
        return Int(text)
    }

    /// HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep it.
    var wantsKeepAlive: Bool {
        let connection = header("connection")?.lowercased() ?? ""
        if version == "HTTP/1.0" { return connection.contains("keep-alive") }
        return !connection.contains("close")
    }

    /// Parses the head (request line and header lines, without the final empty line).
    static func parse(_ head: ArraySlice<UInt8>) -> Request? {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { return nil }
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3, !requestLine[0].isEmpty, requestLine[1].hasPrefix("/"),
            requestLine[2] == "HTTP/1.1" || requestLine[2] == "HTTP/1.0"
        else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            // A lone CR or LF (or a NUL) inside a line would carry a line of its own into an
            // answer that repeats a header (the trace's `h=`, `uag=`): malformed, answered 400.
            guard !line.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else { return nil }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { return nil }
            let name = line[..<colon]
            guard !name.contains(" "), !name.contains("\t") else { return nil }
            let value = line[line.index(after: colon)...].trimming()
            headers.append((name.lowercased(), value))
        }
        let target = requestLine[1]
        let path: Substring
        var query: [String: String] = [:]
        if let mark = target.firstIndex(of: "?") {
            path = target[..<mark]
            for pair in target[target.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
        } else {
            path = target
        }
        return Request(
            method: String(requestLine[0]), path: String(path), query: query, version: String(requestLine[2]),
            headers: headers)
    }
}
