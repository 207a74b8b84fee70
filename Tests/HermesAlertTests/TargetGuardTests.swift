import HermesCore
import HermesTestSupport
import Synchronization
import Testing

@testable import HermesAlert

@Suite struct TargetGuardTests {
    static let strict = TargetGuard(allowsPrivateTargets: false)
    static let lenient = TargetGuard(allowsPrivateTargets: true)

    func refusal(_ url: String, _ guardian: TargetGuard = strict) -> String? {
        switch guardian.check(url: url, displayURL: url) {
        case .success: nil
        case .failure(let refusal): refusal.message
        }
    }

    @Test(arguments: [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://255.255.255.255/", "reserved"),
        ("http://192.0.2.10/", "reserved"),
        ("http://[2001:db8::1]/", "reserved"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),
        // Other spellings of 169.254.169.254, resolved by the real getaddrinfo.
        ("http://2852039166/", "link-local"),
        ("http://0xa9.0xfe.0xa9.0xfe/", "link-local"),
        ("http://169.254.43518/", "link-local"),
    ])
    func alwaysRefusedEvenWithTheAllowFlag(url: String, kind: String) {
        let message = refusal(url, Self.lenient)
        #expect(
            message?.contains("a \(kind) address") == true || message?.contains("an \(kind) address") == true,
            "\(message ?? "allowed")")
        #expect(message?.contains("never allowed") == true)
    }

    @Test(arguments: [
        ("http://127.0.0.1/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://172.20.0.5/", "private"),
        ("http://192.168.1.10/", "private"),
        ("http://100.64.0.1/", "shared address space (CGNAT)"),
        ("http://[fd12:3456::1]/", "unique local"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        // Other spellings of 127.0.0.1: decimal, hexadecimal, octal, short forms.
        ("http://2130706433/", "loopback"),
        ("http://0x7f000001/", "loopback"),
        ("http://0177.0.0.1/", "loopback"),
        ("http://127.1/", "loopback"),
    ])
    func privateTargetsNeedTheAllowFlag(url: String, kind: String) {
        let message = refusal(url)
        #expect(message?.contains("a \(kind) address") == true, "\(message ?? "allowed")")
        #expect(message?.contains("--allow-private-targets") == true)
        #expect(refusal(url, Self.lenient) == nil)
    }

    @Test func aHostnameIsJudgedByWhatItResolvesTo() {
        let message = refusal("http://localhost:8080/hook")
        #expect(
            message?.hasPrefix("refusing http://localhost:8080/hook: localhost resolves to ") == true,
            "\(message ?? "")")
        #expect(message?.contains("a loopback address") == true)
    }

    @Test func publicAddressesPassAndArePinned() {
        #expect(Self.strict.check(url: "https://8.8.8.8/x", displayURL: "") == .success(.init(addresses: ["8.8.8.8"])))
        #expect(
            Self.strict.check(url: "http://[2606:4700::1111]/", displayURL: "")
                == .success(.init(addresses: ["2606:4700::1111"])))
    }

    @Test(arguments: ["ftp://example.com/", "file:///etc/passwd", "gopher://127.0.0.1/", "not a url"])
    func onlyHTTPAndHTTPSAreAccepted(url: String) {
        #expect(refusal(url, Self.lenient) != nil)
    }

    @Test func aRefusedTargetIsNeverContacted() throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let hostname = "http://localhost:\(server.port)/hook"
        for url in [server.baseURL + "/hook", hostname] {
            let reports = Delivery.send(
                [AlertNotification.test(at: at(0))], through: [WebhookProvider(url: url)],
                options: DeliveryOptions(timeout: .seconds(2), targetGuard: Self.strict))
            #expect(reports.first?.failures.first?.contains("loopback") == true)
        }
        #expect(server.requests.isEmpty)
        // The allow flag lets a LAN or loopback server through, by address or by name.
        for url in [server.baseURL + "/hook", hostname] {
            let reports = Delivery.send(
                [AlertNotification.test(at: at(0))], through: [WebhookProvider(url: url)],
                options: DeliveryOptions(timeout: .seconds(2), targetGuard: Self.lenient))
            #expect(reports.first?.deliveredAll == true, "\(reports)")
        }
        #expect(server.requests.count == 2)
    }

    /// A stand-in for DNS: each name resolves to the numeric addresses given (through
    /// getaddrinfo of those), any other host as usual.
    static func guardian(_ names: [String: [String]], allowsPrivate: Bool = false) -> TargetGuard {
        TargetGuard(allowsPrivateTargets: allowsPrivate) { host in
            guard let addresses = names[host] else { return TargetGuard.resolve(host) }
            var found: [TargetGuard.ResolvedAddress] = []
            for address in addresses {
                switch TargetGuard.resolve(address) {
                case .success(let resolved): found += resolved
                case .failure(let failure): return .failure(failure)
                }
            }
            return .success(found)
        }
    }

    @Test func aNameResolvingToTheMetadataAddressIsAlwaysRefused() {
        let guardian = Self.guardian(["metadata.example": ["169.254.169.254"]], allowsPrivate: true)
        #expect(
            refusal("http://metadata.example/latest", guardian)
                == "refusing http://metadata.example/latest: metadata.example resolves to 169.254.169.254, a link-local address, which is never allowed"
        )
    }

    @Test func everyAddressOfANameIsChecked() {
        let guardian = Self.guardian(["mixed.example": ["8.8.8.8", "10.0.0.7"]])
        let message = refusal("http://mixed.example/", guardian)
        #expect(message?.contains("mixed.example resolves to 10.0.0.7, a private address") == true, "\(message ?? "")")
    }

    /// The name does not resolve at all outside the guard, so a delivered request went to the
    /// address the guard checked, with the URL's host in its Host header.
    @Test func deliveryConnectsToTheAddressTheGuardChecked() throws {
        let server = try TestServer.start { _ in .ok("") }
        defer { server.stop() }
        let guardian = Self.guardian(["hook.example": ["127.0.0.1"]], allowsPrivate: true)
        let reports = Delivery.send(
            [AlertNotification.test(at: at(0))],
            through: [WebhookProvider(url: "http://hook.example:\(server.port)/hook")],
            options: DeliveryOptions(timeout: .seconds(2), targetGuard: guardian))
        #expect(reports.first?.deliveredAll == true, "\(reports)")
        #expect(server.requests.map { $0.header("Host") } == ["hook.example:\(server.port)"])
    }

    /// A name that rebinds to the metadata address between two attempts is refused on the
    /// second: every attempt is checked again.
    @Test func aRetryIsCheckedAgain() throws {
        let server = try TestServer.start { _ in
            .respond(status: 503, reason: "Service Unavailable", headers: [], body: [])
        }
        defer { server.stop() }
        let lookups = Mutex(0)
        let guardian = TargetGuard(allowsPrivateTargets: true) { _ in
            let lookup = lookups.withLock { count in
                count += 1
                return count
            }
            return TargetGuard.resolve(lookup == 1 ? "127.0.0.1" : "169.254.169.254")
        }
        let reports = Delivery.send(
            [AlertNotification.test(at: at(0))],
            through: [WebhookProvider(url: "http://rebind.example:\(server.port)/")],
            options: DeliveryOptions(timeout: .seconds(2), targetGuard: guardian, firstRetryDelay: .milliseconds(10)))
        #expect(server.requests.count == 1)
        #expect(reports.first?.failures.first?.contains("169.254.169.254, a link-local address") == true, "\(reports)")
    }

    @Test func addressClassesFromBytes() {
        #expect(AddressClass(bytes: [8, 8, 4, 4]) == .global)
        #expect(AddressClass(bytes: [100, 128, 0, 1]) == .global)
        #expect(AddressClass(bytes: [198, 18, 0, 1]) == .private)
        #expect(AddressClass(bytes: [0x20, 0x02, 127, 0, 0, 1] + Array(repeating: 0, count: 10)) == .loopback)
        #expect(AddressClass(bytes: [0x40, 0x00] + Array(repeating: 0, count: 14)) == .reserved)
        #expect(AddressClass(bytes: [1, 2, 3]) == .reserved)
    }
}
