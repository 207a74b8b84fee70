import Glibc

/// Numeric IP addresses as `inet_pton` reads them: no brackets, no port, no scope.
public enum IPAddress {
    /// 4 or 6 for a numeric IPv4 or IPv6 address, nil for anything else (a name, garbage).
    public static func version(of text: String) -> Int? {
        var buffer = in6_addr()
        if inet_pton(AF_INET, text, &buffer) == 1 { return 4 }
        if inet_pton(AF_INET6, text, &buffer) == 1 { return 6 }
        return nil
    }
}
