import Glibc
import HermesHTTP

/// The SSRF guard every provider URL passes at send time: http or https only, the host resolved
/// here and every address it resolves to checked, then the connection pinned to a checked
/// address so that a second lookup (DNS rebinding) cannot send it elsewhere.
///
/// Decimal, hexadecimal and octal IPv4 spellings and IPv4-mapped IPv6 need no special parsing:
/// the resolver turns them into the numeric address that is then classified and connected to.
public struct TargetGuard: Sendable {
    public var allowsPrivateTargets: Bool
    /// The host's numeric addresses: `getaddrinfo`, unless a test stands in for DNS.
    var resolver: @Sendable (String) -> Result<[ResolvedAddress], ResolveFailure>

    public init(allowsPrivateTargets: Bool) {
        self.init(allowsPrivateTargets: allowsPrivateTargets, resolver: Self.resolve)
    }

    init(
        allowsPrivateTargets: Bool,
        resolver: @escaping @Sendable (String) -> Result<[ResolvedAddress], ResolveFailure>
    ) {
        self.allowsPrivateTargets = allowsPrivateTargets
        self.resolver = resolver
    }

    typealias ResolvedAddress = (address: String, bytes: [UInt8])

    /// A URL that passed: the addresses it may connect to, in the resolver's order.
    public struct Target: Sendable, Equatable {
        public var addresses: [String]

        public init(addresses: [String]) {
            self.addresses = addresses
        }
    }

    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public func check(url: String, displayURL: String) -> Result<Target, Refusal> {
        let parsed: ParsedURL
        do throws(HTTPError) {
            parsed = try ParsedURL(url, displayURL: displayURL)
        } catch {
            return .failure(Refusal(message: error.message))
        }
        var host = parsed.host
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let resolved: [ResolvedAddress]
        switch resolver(host) {
        case .success(let addresses): resolved = addresses
        case .failure(let failure):
            return .failure(Refusal(message: "could not resolve the host of \(displayURL): \(failure.message)"))
        }
        guard !resolved.isEmpty else {
            return .failure(Refusal(message: "the host of \(displayURL) has no address"))
        }
        for (address, bytes) in resolved {
            let kind = AddressClass(bytes: bytes)
            let names = address == host ? address : "\(host) resolves to \(address)"
            if kind.isAlwaysRefused {
                return .failure(
                    Refusal(
                        message: "refusing \(displayURL): \(names), \(kind.phrase), which is never allowed"
                    ))
            }
            if kind != .global && !allowsPrivateTargets {
                return .failure(
                    Refusal(
                        message:
                            "refusing \(displayURL): \(names), \(kind.phrase); pass --allow-private-targets for a target on this machine or the LAN"
                    ))
            }
        }
        return .success(Target(addresses: resolved.map(\.address)))
    }

    struct ResolveFailure: Error {
        var message: String
    }

    /// getaddrinfo's numeric answers for `host`, each once, in order.
    static func resolve(_ host: String) -> Result<[ResolvedAddress], ResolveFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            return .failure(
                ResolveFailure(message: gai_strerror(status).map { String(cString: $0) } ?? "error \(status)"))
        }
        defer { freeaddrinfo(list) }
        var found: [ResolvedAddress] = []
        var entry = list
        while let current = entry {
            entry = current.pointee.ai_next
            guard let socketAddress = current.pointee.ai_addr else { continue }
            let bytes: [UInt8]
            switch Int32(socketAddress.pointee.sa_family) {
            case AF_INET:
                bytes = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
                }
            case AF_INET6:
                bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                }
            default: continue
            }
            guard let text = numericText(bytes), !found.contains(where: { $0.address == text }) else { continue }
            found.append((text, bytes))
        }
        return .success(found)
    }

    private static func numericText(_ bytes: [UInt8]) -> String? {
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let converted = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard converted else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
