import Foundation

/// nginx as a test runs it: in a directory of its own, with the test's `http { }` directives
/// (server blocks and the like) inside a main configuration that keeps every file there, started
/// as systemd would and serving before the initializer returns.
package final class Nginx {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// The directory with the configuration, the logs and the temporary files.
    package let root: String
    private let process: Process

    /// Starts nginx with `http` inside its `http { }` block and waits until `ready` (curl and
    /// `curlArguments`, such as `--cacert`) answers with a success.
    package init(executable: String, root: String, http: String, ready: String, curlArguments: [String] = []) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        // As root, nginx's workers would be nobody, which cannot enter the test's directories.
        try """
        \(getuid() == 0 ? "user root;" : "")
        daemon off;
        worker_processes 1;
        pid \(root)/nginx.pid;
        error_log \(root)/nginx.log;
        events { worker_connections 256; }
        http {
            client_body_temp_path \(root)/tmp/body;
            proxy_temp_path \(root)/tmp/proxy;
            fastcgi_temp_path \(root)/tmp/fastcgi;
            uwsgi_temp_path \(root)/tmp/uwsgi;
            scgi_temp_path \(root)/tmp/scgi;
            \(http)
        }
        """.write(toFile: root + "/nginx.conf", atomically: false, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", root + "/nginx.conf", "-e", root + "/nginx.log", "-p", root]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.runAsSystemdWould()
        // Until it serves, or has exited (a configuration it refused).
        let up = eventually { () -> Bool? in
            guard process.isRunning else { return false }
            let probe = try? ChildProcess.run("/usr/bin/curl", ["-sf", "-o", "/dev/null"] + curlArguments + [ready])
            return probe?.status == 0 ? true : nil
        }
        if up != true {
            stop()
            throw Failure(description: "nginx did not serve \(ready): \(log)")
        }
    }

    /// nginx's error log.
    package var log: String { (try? String(contentsOfFile: root + "/nginx.log", encoding: .utf8)) ?? "" }

    package func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// A self-signed certificate for 127.0.0.1 (the name and the address), made by openssl in
    /// `directory`: the certificate, which is its own authority for a client's `--cacert`, and
    /// its key.
    package static func loopbackCertificate(in directory: String) throws -> (certificate: String, key: String) {
        let certificate = directory + "/cert.pem"
        let key = directory + "/key.pem"
        let made = try ChildProcess.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", certificate, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ])
        guard made.status == 0 else { throw Failure(description: "openssl: \(made.stderr)") }
        return (certificate, key)
    }
}
