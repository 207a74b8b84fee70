import HermesCore
import Testing

@Suite struct IPAddressTests {
    @Test(
        arguments: [
            ("192.0.2.1", 4), ("127.0.0.1", 4), ("::1", 6), ("2001:db8::7", 6), ("::ffff:127.0.0.1", 6),
            ("[::1]", nil), ("127.0.0.1:80", nil), ("localhost", nil), ("", nil), ("fe80::1%eth0", nil),
            ("256.1.1.1", nil), (" 192.0.2.1", nil),
        ] as [(String, Int?)])
    func versionOfANumericAddressOnly(text: String, version: Int?) {
        #expect(IPAddress.version(of: text) == version, "\(text)")
    }
}
