@_spi(Benchmarks) @testable import PortholeProxy
import Testing

/// A sandbox's `Set-Cookie` loses its `Domain` attribute, and nothing else.
@Suite struct SetCookieDomainTests {
    @Test(arguments: [
        ("a=1; Path=/; Domain=preview.localhost; Secure", "a=1; Path=/; Secure"),
        ("a=1; Domain=.preview.localhost", "a=1"),
        ("a=1;domain=localhost;HttpOnly", "a=1;HttpOnly"),
        ("a=1; DOMAIN = preview.localhost ; Path=/", "a=1; Path=/"),
        ("a=1; Domain", "a=1"),
        ("a=1; Domain=x; Path=/; domain=y", "a=1; Path=/"),
        ("porthole_session=forged; Domain=preview.localhost; Path=/", "porthole_session=forged; Path=/"),
        // Not attributes: the cookie's own value, a longer name, an attribute's value.
        ("domain=1; Path=/", "domain=1; Path=/"),
        ("a=domain=x; Path=/", "a=domain=x; Path=/"),
        ("a=1; Domainx=y; Path=/", "a=1; Domainx=y; Path=/"),
        ("a=1; Path=/domain=x", "a=1; Path=/domain=x"),
        ("a=1", "a=1"),
    ])
    func dropsTheDomainAttribute(_ value: String, _ expected: String) {
        let bytes = Array(value.utf8)
        let kept: String = bytes.withUnsafeBytes { raw in
            var output: [UInt8] = []
            var start = 0
            SetCookieDomain.forEachDomainAttribute(raw, 0..<raw.count) { attribute in
                output += bytes[start..<attribute.lowerBound]
                start = attribute.upperBound
            }
            output += bytes[start...]
            #expect(SetCookieDomain.hasDomain(raw, 0..<raw.count) == (value != expected))
            return String(decoding: output, as: UTF8.self)
        }
        #expect(kept == expected)
    }

    @Test func theHeadIsRewrittenOnlyWhereACookieNamesADomain() throws {
        let head = wireHead(
            "HTTP/1.1 200 OK", "Set-Cookie: a=1; Path=/", "Set-Cookie: b=2; Domain=preview.localhost; Path=/", "X-Other: Domain=x",
            "Content-Length: 0"
        )
        let parsed = try Wire.response(head)
        #expect(parsed.head.hasCookieDomains)
        #expect(ResponseHeadWriter.needsRewrite(parsed.head, closingClient: false))
        let rewritten = String(decoding: Wire.rewriteResponse(parsed, closingClient: false), as: UTF8.self)
        #expect(
            rewritten
                == wireHead("HTTP/1.1 200 OK", "Set-Cookie: a=1; Path=/", "Set-Cookie: b=2; Path=/", "X-Other: Domain=x", "Content-Length: 0"))

        let plain = try Wire.response(wireHead("HTTP/1.1 200 OK", "Set-Cookie: a=1; Path=/", "Content-Length: 0"))
        #expect(!plain.head.hasCookieDomains && !ResponseHeadWriter.needsRewrite(plain.head, closingClient: false))
    }
}
