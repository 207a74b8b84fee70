import ArgumentParser
import Glibc
import HermesCore
import HermesExport
import HermesTestSupport
import Synchronization

/// `receive`: a loopback HTTP receiver for the export and alert benchmarks, the tests' own
/// `TestServer`: it answers every request with one status (or never), and can save each Loki push
/// with the number of entries it holds, so the bench checks that every record arrived and can
/// replay the very same bodies with curl. Runs until it is killed.
struct Receive: BenchCommand {
    static let configuration = CommandConfiguration(
        abstract: "Listen on a free loopback port, write the port to --port-file, answer every request.")

    @Option(help: ArgumentHelp("Write the port here once listening.", valueName: "path")) var portFile: String
    @Option(help: ArgumentHelp("Listen on this port (default: a free one).", valueName: "port")) var port: UInt16 = 0
    @Option(help: ArgumentHelp("Answer with this status.", valueName: "code")) var status = 204
    @Option(help: ArgumentHelp("Answer with this body.", valueName: "text")) var body = ""
    @Flag(help: "Read requests but never answer (a provider that hangs).") var hang = false
    @Option(
        help: ArgumentHelp(
            "Save each request body as <dir>/NNNN.gz and append the Loki entries it holds to <dir>/entries.",
            valueName: "dir"))
    var save: String?

    func validate() throws {
        guard (100...599).contains(status) else { throw ValidationError("--status must be 100 to 599") }
    }

    func measure() throws(BenchError) {
        let reply: TestReply =
            hang ? .neverAnswer : .respond(status: status, reason: "Bench", headers: [], body: Array(body.utf8))
        let saved = Mutex(0)
        let directory = save
        let route: @Sendable (RecordedRequest) -> TestReply = { request in
            if let directory {
                let number = saved.withLock { count in
                    count += 1
                    return count
                }
                Self.keep(request.bodyPrefix, number: number, in: directory)
            }
            return reply
        }
        let server: TestServer
        do {
            server = try TestServer.start(keptBodyBytes: 64 << 20, port: port, route: route)
        } catch {
            throw .invalidRun("cannot listen on loopback: \(error)")
        }
        do {
            try FileSystem.atomicReplace(portFile, with: Array(String(server.port).utf8))
        } catch {
            throw .io(error)
        }
        while true { pause() }
    }

    /// Saves a Loki body and the count of its entries (`streams[].values`); a body that is not a
    /// Loki push counts 0 entries.
    static func keep(_ body: [UInt8], number: Int, in directory: String) {
        let name = String(number)
        let padded = String(repeating: "0", count: max(0, 4 - name.count)) + name
        try? FileSystem.atomicReplace("\(directory)/\(padded).gz", with: body)
        var entries = 0
        if let json = try? Gzip.decompress(body),
            case .object(let push)? = json.withUnsafeBufferPointer({ try? JSONParser.parse($0) }),
            case .array(let streams)? = push["streams"]
        {
            for case .object(let stream) in streams {
                if case .array(let values)? = stream["values"] { entries += values.count }
            }
        }
        let line = Array("\(entries)\n".utf8)
        let descriptor = open("\(directory)/entries", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}
