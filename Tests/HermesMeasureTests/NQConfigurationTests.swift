import Testing

@testable import HermesMeasure

/// The responsiveness configuration (draft-ietf-ippm-responsiveness, "Server Configuration"):
/// the draft's keys, Apple's older ones, and every way a configuration can be unusable.
@Suite struct NQConfigurationTests {
    static let url = "https://nq.example/.well-known/nq"

    @Test func theDraftsKeysAndApplesOlderOnesAreBothRead() throws {
        let draft = """
            {"version": 1, "urls": {"small_download_url": "https://nq.example/small",
             "large_download_url": "https://nq.example/large", "upload_url": "https://nq.example/slurp"},
             "test_endpoint": "nq-1.example"}
            """
        let apple = """
            {"version": 1, "urls": {"small_https_download_url": "https://nq.example/api/v1/small",
             "large_https_download_url": "https://nq.example/api/v1/large",
             "https_upload_url": "https://nq.example/api/v1/slurp"}}
            """
        #expect(
            try NQConfiguration.parse(draft, from: Self.url)
                == NQConfiguration(
                    small: "https://nq.example/small", large: "https://nq.example/large",
                    upload: "https://nq.example/slurp"))
        #expect(try NQConfiguration.parse(apple, from: Self.url).large == "https://nq.example/api/v1/large")
    }

    @Test(arguments: [
        ("[1]", "is not a JSON object"),
        (#"{"version": 2, "urls": {}}"#, "is not version 1"),
        (#"{"urls": {}}"#, "is not version 1"),
        (#"{"version": 1}"#, "has no \"urls\" object"),
        (
            #"{"version": 1, "urls": {"small_download_url": "https://a/s", "large_download_url": "https://a/l"}}"#,
            "has neither \"upload_url\" nor \"https_upload_url\""
        ),
        (
            #"{"version": 1, "urls": {"small_download_url": "https://a/s", "large_download_url": "https://b/l", "upload_url": "https://a/u"}}"#,
            "names URLs on several hosts (a, b)"
        ),
        (
            #"{"version": 1, "urls": {"small_download_url": "ftp://a/s", "large_download_url": "https://a/l", "upload_url": "https://a/u"}}"#,
            "names ftp://a/s for small_download_url"
        ),
        (#"{"version": 1, "version": 1, "urls": {}}"#, "is not a JSON object (a duplicate key"),
    ])
    func anUnusableConfigurationIsAProtocolFailureSayingWhy(text: String, problem: String) {
        #expect {
            try NQConfiguration.parse(text, from: Self.url)
        } throws: { error in
            guard let failure = error as? MeasureFailure else { return false }
            return failure.kind == .protocol
                && failure.message.hasPrefix("the responsiveness configuration at \(Self.url) \(problem)")
        }
    }

    @Test func aServersConfigurationIsAtItsWellKnownPath() {
        #expect(NQEngine.configurationURL(for: "http://h:8080") == "http://h:8080/.well-known/nq")
        #expect(NQEngine.configurationURL(for: "http://h:8080/") == "http://h:8080/.well-known/nq")
        #expect(
            NQEngine.configurationURL(for: "https://mensura.cdn-apple.com/api/v1/gm/config")
                == "https://mensura.cdn-apple.com/api/v1/gm/config")
    }
}
