/// What kind of destination an IP address is, for the SSRF guard.
public enum AddressClass: String, Sendable, Equatable {
    case global
    /// 127/8, ::1.
    case loopback
    /// 10/8, 172.16/12, 192.168/16, 198.18/15 (benchmarking).
    case `private`
    /// 100.64/10, carrier-grade NAT (RFC 6598).
    case sharedAddressSpace = "shared address space (CGNAT)"
    /// fc00::/7, IPv6 unique local addresses; fec0::/10, the deprecated site-local ones.
    case uniqueLocal = "unique local"
    /// 169.254/16 (including 169.254.169.254, where clouds serve instance credentials), fe80::/10.
    case linkLocal = "link-local"
    /// 0/8, ::.
    case unspecified
    /// 224/4, ff00::/8.
    case multicast
    /// 240/4 and 255.255.255.255, documentation and protocol ranges, IPv6 outside 2000::/3.
    case reserved

    /// "a loopback address", for messages.
    public var phrase: String { "\(self == .unspecified ? "an" : "a") \(rawValue) address" }

    /// Never a legitimate notification target, whatever the flags say.
    public var isAlwaysRefused: Bool {
        switch self {
        case .linkLocal, .unspecified, .multicast, .reserved: true
        case .global, .loopback, .private, .sharedAddressSpace, .uniqueLocal: false
        }
    }

    /// Classifies 4 (IPv4) or 16 (IPv6) address bytes in network order.
    public init(bytes: [UInt8]) {
        if bytes.count == 4 {
            self = Self.classifyIPv4(bytes[0], bytes[1], bytes[2], bytes[3])
        } else if bytes.count == 16 {
            self = Self.classifyIPv6(bytes)
        } else {
            self = .reserved
        }
    }

    private static func classifyIPv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> AddressClass {
        switch (a, b, c) {
        case (0, _, _): .unspecified
        case (127, _, _): .loopback
        case (10, _, _), (172, 16...31, _), (192, 168, _), (198, 18...19, _): .private
        case (100, 64...127, _): .sharedAddressSpace
        case (169, 254, _): .linkLocal
        case (224...239, _, _): .multicast
        case (240...255, _, _): .reserved
        // IETF protocol assignments and the three documentation networks.
        case (192, 0, 0), (192, 0, 2), (198, 51, 100), (203, 0, 113): .reserved
        default: .global
        }
    }

    private static func classifyIPv6(_ bytes: [UInt8]) -> AddressClass {
        let prefixZero = bytes[0..<10].allSatisfy { $0 == 0 }
        if prefixZero && bytes[10] == 0xFF && bytes[11] == 0xFF {
            // IPv4-mapped ::ffff:a.b.c.d: the kernel connects to the IPv4 address.
            return classifyIPv4(bytes[12], bytes[13], bytes[14], bytes[15])
        }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) {
            return bytes[15] == 1 ? .loopback : .unspecified
        }
        if prefixZero && bytes[10] == 0 && bytes[11] == 0 {
            // IPv4-compatible ::a.b.c.d, deprecated by RFC 4291.
            return .reserved
        }
        if bytes[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] {
            // NAT64 64:ff9b::/96 reaches the embedded IPv4 address.
            return classifyIPv4(bytes[12], bytes[13], bytes[14], bytes[15])
        }
        if bytes[0] == 0x20 && bytes[1] == 0x02 {
            // 6to4 2002::/16 tunnels to the IPv4 address in bits 16–47.
            let embedded = classifyIPv4(bytes[2], bytes[3], bytes[4], bytes[5])
            return embedded == .global ? .global : embedded
        }
        if bytes[0] == 0xFF { return .multicast }
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return .linkLocal }
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0xC0 { return .uniqueLocal }
        if bytes[0] & 0xFE == 0xFC { return .uniqueLocal }
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8 { return .reserved }
        if bytes[0] & 0xE0 == 0x20 { return .global }
        return .reserved
    }
}
