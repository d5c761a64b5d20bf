@testable import PortholeProxy
import Testing

@Suite("AccessLog redaction")
struct AccessLogRedactionTests {
    private static func cut(_ path: String, token: String? = "s3cr3t-token-value") -> Int? {
        Array(path.utf8).withUnsafeBytes { AccessLog.credentialStart(in: $0, previewToken: token) }
    }

    @Test(
        arguments: [
            ("/plain/path", nil),
            ("/x;preview_token=abc", 3),
            ("/x;PREVIEW_TOKEN=abc", 3),
            ("/a/porthole_session=v", 3),
            ("/x;DAYTONA_SANDBOX_AUTH_KEY=abc", 3),
            ("/x;daytona_sandbox_auth_key=abc", 3),
            ("/files/s3cr3t-token-value/a", 7),
            ("/files/s3cr3t-token-value;preview_token=x", 7),
            ("/preview_tokens-docs", 1),
        ] as [(String, Int?)])
    func cutsWhereACredentialStarts(_ path: String, _ expected: Int?) {
        #expect(Self.cut(path) == expected)
    }

    @Test func aShortOrMissingTokenIsNotSearchedFor() {
        #expect(Self.cut("/a/b", token: "a") == nil)
        #expect(Self.cut("/a/b", token: nil) == nil)
    }
}
