import HermesHTTP
import Testing

extension HermesHTTPTests {
    @Suite struct RetryAfterHeader {
        /// 1994-11-06T08:49:37Z, the example of RFC 9110 §5.6.7.
        static let example: Int64 = 784_111_777

        func wait(_ value: String?, now: Int64 = example) -> Duration? {
            let headers: HTTPHeaders = value.map { ["Retry-After": $0] } ?? [:]
            return HTTPResponse(status: 503, headers: headers, displayURL: "http://x/").retryAfter(now: now)
        }

        @Test func deltaSeconds() {
            #expect(wait("120") == .seconds(120))
            #expect(wait(" 0 ") == .zero)
            #expect(wait("-5") == .zero)
            #expect(wait("99999999999999999999999") == .seconds(1 << 31))
        }

        @Test func anHTTPDateIsTheWaitUntilThen() {
            #expect(wait("Sun, 06 Nov 1994 08:49:37 GMT", now: Self.example - 90) == .seconds(90))
            #expect(wait("Sun, 06 Nov 1994 08:49:37 GMT") == .zero)
            #expect(wait("Sun, 06 Nov 1994 08:49:37 GMT", now: Self.example + 3600) == .zero, "a past date")
            #expect(wait("Thu, 01 Jan 1970 00:00:10 GMT", now: 0) == .seconds(10))
            #expect(wait("Tue, 29 Feb 2028 23:59:60 GMT", now: 1_835_395_200) == .seconds(86_400), "leap day")
        }

        @Test(arguments: [
            nil, "", "soon", "1.5", "12s", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT", "Mon, 29 Feb 2100 00:00:00 GMT",
        ])
        func anythingElseIsNoAnswer(value: String?) {
            #expect(wait(value) == nil)
        }
    }
}
