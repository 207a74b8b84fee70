import Foundation
import HermesCore
import HermesTestSupport
import Testing

@testable import HermesMeasure

/// `--server` with the URL of any common LibreSpeed install: the PHP one (its page with
/// `backend/*.php`, or the backend directory itself), the Rust backend (`backend/*`) and the Go
/// backend (`*`). Each layout served alone by a loopback server; the PHP one also by the real
/// thing, php-fpm behind nginx, with backend files that behave as LibreSpeed documents its own.
@Suite struct LibreSpeedLayoutTests {
    let scratch: TemporaryDirectory
    init() throws { scratch = try TemporaryDirectory() }

    /// A server that has only the endpoints of one layout (`prefix`, `suffix`); everything else
    /// is 404, or, with `catchAll`, a web page (as an nginx `try_files … /index.html` answers).
    static func layoutServer(prefix: String, suffix: String, catchAll: Bool = false) throws -> TestServer {
        try TestServer.start(keptBodyBytes: 0) { request in
            switch request.path {
            case "/\(prefix)empty\(suffix)":
                return .respond(status: 200, reason: "OK", headers: [("Cache-Control", "no-store")], body: [])
            case "/\(prefix)garbage\(suffix)":
                return .generated(byteCount: (request.query("ckSize") ?? 4) << 20)
            case "/\(prefix)getIP\(suffix)":
                return .ok(#"{"processedString":"127.0.0.1 - localhost IPv4 access","rawIspInfo":""}"#)
            default:
                return catchAll
                    ? .ok("<!doctype html><title>LibreSpeed</title>")
                    : .respond(status: 404, reason: "Not Found", headers: [], body: Array("not found".utf8))
            }
        }
    }

    func measureLibreSpeed(_ url: String) throws -> Record {
        try briefMeasure(in: scratch, .librespeed, server: url)
    }

    @Test(arguments: [
        ("backend/", ".php", ""),  // the PHP install, given its page's URL
        ("", ".php", "backend/"),  // the PHP install, given its backend's URL
        ("backend/", "", ""),  // the Rust backend
        ("", "", ""),  // the Go backend
    ])
    func everyLayoutIsFound(prefix: String, suffix: String, given: String) throws {
        let server = try Self.layoutServer(prefix: given + prefix, suffix: suffix)
        defer { server.stop() }
        let record = try measureLibreSpeed(server.baseURL + "/" + given)
        let result = try #require(record.result, "\(record)")
        #expect((result.downloadMbps ?? 0) > 0 && (result.uploadMbps ?? 0) > 0)
        #expect(result.extensions.clientIP == "127.0.0.1")
        let paths = Set(server.requests.map(\.path))
        #expect(
            paths.contains("/\(given)\(prefix)garbage\(suffix)") && paths.contains("/\(given)\(prefix)getIP\(suffix)"))
        // Found once for the run: every later request is the layout's.
        let probes = server.requests.filter { $0.path.contains("empty") }.map(\.path)
        #expect(Set(probes.drop { $0 != "/\(given)\(prefix)empty\(suffix)" }) == ["/\(given)\(prefix)empty\(suffix)"])
    }

    @Test func aServerWithNoBackendIsAFailureNamingEveryLayoutTried() throws {
        let server = try Self.layoutServer(prefix: "elsewhere/", suffix: "")
        defer { server.stop() }
        let failure = try #require(try measureLibreSpeed(server.baseURL).failure)
        #expect(failure.errorKind == .http)
        #expect(
            failure.error.contains(
                "tried backend/empty.php (HTTP 404), empty.php (HTTP 404), backend/empty (HTTP 404), empty (HTTP 404)"),
            "\(failure.error)")
    }

    /// A web server that answers every path with its page is not taken for a backend.
    @Test func aPageServedForEveryPathIsNotABackend() throws {
        let server = try Self.layoutServer(prefix: "elsewhere/", suffix: "", catchAll: true)
        defer { server.stop() }
        let failure = try #require(try measureLibreSpeed(server.baseURL).failure)
        #expect(failure.error.contains("backend/empty.php (HTTP 200 with a body of"), "\(failure.error)")
    }

    @Test func aServerThatIsDownFailsAtOnceAsConnect() throws {
        let failure = try #require(try measureLibreSpeed("http://127.0.0.1:\(closedLoopbackPort())/").failure)
        #expect(failure.errorKind == .connect)
    }

    /// LibreSpeed's PHP backend as its project ships it runs under php-fpm behind a web server;
    /// here nginx and php-fpm from Debian, with backend files that answer as LibreSpeed's do
    /// (`empty.php` nothing, `garbage.php` ckSize mebibytes of random bytes, `getIP.php` JSON).
    @Test func theStockPHPInstallBehindNginxWorksByEitherURL() throws {
        let nginx = try #require(ChildProcess.installed("nginx"), "apt-get install nginx-light (scripts/test does)")
        let phpFPM = try #require(
            ChildProcess.installed("php-fpm8.2"), "apt-get install php8.2-fpm (scripts/test does)")
        let site = try PHPSite(nginx: nginx, phpFPM: phpFPM, in: scratch)
        defer { site.stop() }
        for given in ["/", "/backend/"] {
            let record = try measureLibreSpeed(site.baseURL + given)
            let result = try #require(record.result, "\(given): \(record)")
            #expect((result.downloadMbps ?? 0) > 0 && (result.uploadMbps ?? 0) > 0, "\(given)")
            #expect(result.extensions.clientIP == "127.0.0.1", "\(given)")
        }
    }
}

struct SiteError: Error, CustomStringConvertible {
    var description: String
}

/// nginx and php-fpm serving a LibreSpeed-style site from `scratch/www` on a free loopback port.
final class PHPSite {
    let baseURL: String
    private let fpm: Process
    private let nginx: Nginx

    static let empty = """
        <?php
        header('HTTP/1.1 200 OK');
        header('Cache-Control: no-store, no-cache, must-revalidate, max-age=0, s-maxage=0');
        header('Cache-Control: post-check=0, pre-check=0', false);
        header('Pragma: no-cache');
        header('Connection: keep-alive');
        """
    static let garbage = """
        <?php
        @ini_set('zlib.output_compression', 'Off');
        @ini_set('output_buffering', 'Off');
        function chunks() {
            if (!isset($_GET['ckSize']) || !ctype_digit($_GET['ckSize']) || (int) $_GET['ckSize'] <= 0) return 4;
            return min(1024, (int) $_GET['ckSize']);
        }
        header('HTTP/1.1 200 OK');
        header('Content-Description: File Transfer');
        header('Content-Type: application/octet-stream');
        header('Content-Disposition: attachment; filename=random.dat');
        header('Content-Transfer-Encoding: binary');
        header('Cache-Control: no-store, no-cache, must-revalidate, max-age=0, s-maxage=0');
        header('Pragma: no-cache');
        $data = random_bytes(1048576);
        for ($i = chunks(); $i > 0; $i--) { echo $data; flush(); }
        """
    static let getIP = """
        <?php
        header('Content-Type: application/json; charset=utf-8');
        $ip = $_SERVER['REMOTE_ADDR'];
        $processed = ($ip === '127.0.0.1' || $ip === '::1') ? $ip . ' - localhost IPv4 access' : $ip;
        echo json_encode(['processedString' => $processed, 'rawIspInfo' => '']);
        """

    init(nginx: String, phpFPM: String, in scratch: TemporaryDirectory) throws {
        let root = scratch.file("site")
        try FileManager.default.createDirectory(atPath: root + "/www/backend", withIntermediateDirectories: true)
        for (name, text) in [("empty.php", Self.empty), ("garbage.php", Self.garbage), ("getIP.php", Self.getIP)] {
            try text.write(toFile: root + "/www/backend/" + name, atomically: false, encoding: .utf8)
        }
        try "<!doctype html><title>LibreSpeed</title>".write(
            toFile: root + "/www/index.html", atomically: false, encoding: .utf8)
        let port = try closedLoopbackPort()
        let asRoot = getuid() == 0
        try """
        [global]
        pid = \(root)/php-fpm.pid
        error_log = \(root)/php-fpm.log
        daemonize = no
        [www]
        \(asRoot ? "user = root\ngroup = root" : "")
        listen = \(root)/php.sock
        pm = static
        pm.max_children = 4
        php_admin_value[post_max_size] = 100M
        php_admin_value[output_buffering] = 0
        """.write(toFile: root + "/php-fpm.conf", atomically: false, encoding: .utf8)
        let fpm = Process()
        fpm.executableURL = URL(fileURLWithPath: phpFPM)
        fpm.arguments = ["-F", "-y", root + "/php-fpm.conf"] + (asRoot ? ["-R"] : [])
        fpm.standardOutput = FileHandle.nullDevice
        fpm.standardError = FileHandle.nullDevice
        try fpm.runAsSystemdWould()
        self.fpm = fpm
        baseURL = "http://127.0.0.1:\(port)"
        do {
            self.nginx = try Nginx(
                executable: nginx, root: root,
                http: """
                    access_log off;
                    client_max_body_size 100m;
                    server {
                        listen 127.0.0.1:\(port);
                        root \(root)/www;
                        location ~ \\.php$ {
                            include /etc/nginx/fastcgi_params;
                            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                            fastcgi_pass unix:\(root)/php.sock;
                            fastcgi_buffering off;
                        }
                    }
                    """,
                ready: baseURL + "/backend/empty.php")
        } catch {
            fpm.terminate()
            fpm.waitUntilExit()
            let log = (try? String(contentsOfFile: root + "/php-fpm.log", encoding: .utf8)) ?? ""
            throw SiteError(description: "\(error); php-fpm: \(log)")
        }
    }

    func stop() {
        nginx.stop()
        if fpm.isRunning {
            fpm.terminate()
            fpm.waitUntilExit()
        }
    }
}
