import PortholeCore
import Testing

@Suite("CORSPreflight")
struct CORSPreflightTests {
    static let domains = ["preview.localhost"]

    static func parse(
        origin: String? = "https://app.example", method: String? = "POST", headers: String? = nil, hasBody: Bool = false
    ) -> CORSPreflight? {
        CORSPreflight.parse(
            origin: origin, requestMethod: method, requestHeaders: headers, hasBody: hasBody, sandboxID: "sb1", baseDomains: domains
        )
    }

    @Test func aWellFormedPreflightIsAnsweredWithoutCredentials() throws {
        let preflight = try #require(Self.parse(headers: " X-Preview-Token,content-type "))
        #expect(preflight.headers == "X-Preview-Token,content-type")
        #expect(!preflight.allowsCredentials)
        let fields = preflight.responseFields
        #expect(fields.contains("Access-Control-Allow-Origin: https://app.example\r\n"))
        #expect(fields.contains("Access-Control-Allow-Methods: POST\r\n"))
        #expect(fields.contains("Access-Control-Allow-Headers: X-Preview-Token,content-type\r\n"))
        #expect(!fields.contains("Credentials"))
        #expect(fields.contains("Vary: Origin"))
    }

    @Test(arguments: [
        "https://3000-sb1.preview.localhost", "https://3000-sb1.preview.localhost:8443", "https://8080-sb1.PREVIEW.localhost",
    ])
    func anotherPortOfTheSameSandboxMaySendCredentials(_ origin: String) throws {
        let preflight = try #require(Self.parse(origin: origin))
        #expect(preflight.allowsCredentials)
        #expect(preflight.responseFields.contains("Access-Control-Allow-Credentials: true\r\n"))
    }

    @Test(arguments: [
        "https://3000-sb2.preview.localhost",  // another sandbox
        "http://3000-sb1.preview.localhost",  // not over HTTPS
        "https://3000-sb1.preview.localhost.evil.example",
        "https://sb1.preview.localhost",  // not a preview host
        "null",
    ])
    func otherOriginsGetNoCredentials(_ origin: String) throws {
        let preflight = try #require(Self.parse(origin: origin))
        #expect(!preflight.allowsCredentials)
    }

    /// Anything that is not a preflight a browser sends is an ordinary request (and needs a token).
    @Test(arguments: [
        Malformed(origin: nil),
        Malformed(method: nil),
        Malformed(hasBody: true),
        Malformed(origin: ""),
        Malformed(origin: "app.example"),
        Malformed(origin: "https://app.example/path"),
        Malformed(origin: "https://user@app.example"),
        Malformed(origin: "https://app.example\r\nSet-Cookie: x=1"),
        Malformed(origin: "https://app example"),
        Malformed(method: ""),
        Malformed(method: "PO ST"),
        Malformed(method: "POST\r\nX: y"),
        Malformed(headers: "a b"),
        Malformed(headers: "x-a,\"quoted\""),
        Malformed(headers: "x-a;y"),
        Malformed(headers: String(repeating: "a,", count: 600)),
    ])
    func malformedIsNotAPreflight(_ malformed: Malformed) {
        #expect(Self.parse(origin: malformed.origin, method: malformed.method, headers: malformed.headers, hasBody: malformed.hasBody) == nil)
    }

    @Test func anEmptyHeaderListIsNoList() throws {
        let preflight = try #require(Self.parse(headers: "  "))
        #expect(preflight.headers == nil)
        #expect(!preflight.responseFields.contains("Allow-Headers"))
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var origin: String? = "https://app.example"
        var method: String? = "POST"
        var headers: String? = nil
        var hasBody = false
        var testDescription: String {
            "origin \(origin.debugDescription) method \(method.debugDescription) headers \(headers.debugDescription) body \(hasBody)"
        }
    }
}
