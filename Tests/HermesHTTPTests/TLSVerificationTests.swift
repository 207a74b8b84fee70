import Foundation
import Testing

@testable import HermesHTTP

/// Certificate checks against a real TLS server on loopback (`openssl s_server` with a
/// certificate made for the test): an untrusted certificate fails, the same one trusted works.
@Suite(.serialized) struct TLSVerificationTests {
    final class TLSServer {
        let port: Int
        let certificate: String
        private let process: Process
        private let directory: String

        init() throws {
            directory = NSTemporaryDirectory() + "hermes-tls-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            certificate = directory + "/cert.pem"
            let key = directory + "/key.pem"
            let make = Process()
            make.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            make.arguments = [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", certificate,
            ]
            make.standardError = FileHandle.nullDevice
            try make.run()
            make.waitUntilExit()
            try #require(make.terminationStatus == 0, "openssl could not make a certificate")
            port = try Self.freePort()
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = [
                "s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificate, "-key", key, "-www", "-quiet",
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            try waitUntilListening()
        }

        deinit {
            // s_server ignores SIGTERM while it waits for a connection.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: directory)
        }

        private static func freePort() throws -> Int {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                    guard bind(socket, pointer, length) == 0 else { return -1 }
                    return getsockname(socket, pointer, &length)
                }
            }
            try #require(bound == 0)
            return Int(UInt16(bigEndian: address.sin_port))
        }

        private func waitUntilListening() throws {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                var request = HTTPRequest(url: "http://127.0.0.1:\(port)/")
                request.timeouts = HTTPTimeouts(connect: .milliseconds(200), total: .milliseconds(300))
                if failure(of: request)?.kind == .connect {
                    usleep(50_000)
                    continue
                }
                return
            }
            Issue.record("openssl s_server did not start listening on port \(port)")
        }
    }

    @Test func anUntrustedCertificateIsRefusedAndATrustedOneAccepted() throws {
        let server = try TLSServer()
        var request = HTTPRequest(url: "https://localhost:\(server.port)/")
        request.pinnedAddress = "127.0.0.1"
        request.timeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(10))

        #expect(failure(of: request)?.kind == .tls, "a self-signed certificate must not be accepted untrusted")

        request.caFile = server.certificate
        let trusted = try HTTPClient.perform(request)
        #expect(trusted.status == 200)

        // The certificate names localhost and 127.0.0.1; another name must fail the host check.
        var wrongName = HTTPRequest(url: "https://hermes.invalid:\(server.port)/")
        wrongName.pinnedAddress = "127.0.0.1"
        wrongName.caFile = server.certificate
        wrongName.timeouts = request.timeouts
        #expect(failure(of: wrongName)?.kind == .tls, "a certificate for another host name must not be accepted")
    }
}
