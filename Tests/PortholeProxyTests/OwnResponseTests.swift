import NIOCore
import PortholeCore
@testable import PortholeProxy
import Testing

/// The bytes of the proxy's own responses, checked whole.
@Suite struct OwnResponseTests {
    private func text(_ buffer: ByteBuffer) -> String {
        String(buffer: buffer)
    }

    @Test func jsonErrorKeepingTheConnection() {
        let error = ErrorResponse.sandboxNotFound("abc")
        let body = error.body(html: false)
        let bytes = OwnResponse.error(error, html: false, close: false, withBody: true, allocator: ByteBufferAllocator())
        #expect(
            text(bytes)
                == "HTTP/1.1 404 Not Found\r\nContent-Type: \(error.contentType(html: false))\r\nContent-Length: \(body.count)\r\nCache-Control: no-store\r\n\r\n"
                + String(decoding: body, as: UTF8.self))
    }

    @Test func headAnswerHasTheLengthButNoBody() {
        let error = ErrorResponse.sandboxNotFound("abc")
        let bytes = text(OwnResponse.error(error, html: true, close: true, withBody: false, allocator: ByteBufferAllocator()))
        #expect(bytes.hasSuffix("Content-Length: \(error.body(html: true).count)\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"))
        #expect(bytes.contains("Content-Type: text/html"))
    }

    @Test func statusSpecificFields() {
        let unavailable = text(OwnResponse.error(.storeUnavailable, html: false, close: false, withBody: true, allocator: ByteBufferAllocator()))
        #expect(unavailable.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n") && unavailable.contains("\r\nRetry-After: 10\r\n"))
        let unauthorised = ErrorResponse(status: 401, code: "token_required", message: "m")
        let challenge = text(OwnResponse.error(unauthorised, html: false, close: false, withBody: true, allocator: ByteBufferAllocator()))
        #expect(challenge.contains("\r\nWWW-Authenticate: Preview-Token\r\n"))
    }

    @Test func redirectWithCookie() {
        let bytes = text(OwnResponse.redirectWithCookie(location: "/app?x=1", setCookie: "c=v; Path=/", close: false, allocator: ByteBufferAllocator()))
        #expect(
            bytes
                == "HTTP/1.1 302 Found\r\nLocation: /app?x=1\r\nSet-Cookie: c=v; Path=/\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nContent-Length: 0\r\n\r\n"
        )
    }

    @Test func preflightClosing() {
        let bytes = text(OwnResponse.preflight("Access-Control-Allow-Origin: https://a.example\r\n", close: true, allocator: ByteBufferAllocator()))
        #expect(bytes == "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: https://a.example\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n")
    }

    @Test(arguments: [
        ("3000-abc.preview.localhost:8080", 443, "/x?y", "https://3000-abc.preview.localhost/x?y"),
        ("3000-abc.preview.localhost", 8443, "/", "https://3000-abc.preview.localhost:8443/"),
        ("[::1]", 443, "/", "https://[::1]/"),
        ("[::1]:80", 443, "/", "https://[::1]/"),
    ])
    func httpsLocation(_ host: String, _ port: Int, _ target: String, _ expected: String) {
        #expect(OwnResponse.httpsLocation(host: host, httpsPort: port, target: target) == expected)
        let bytes = text(OwnResponse.redirectToHTTPS(location: expected, close: false, allocator: ByteBufferAllocator()))
        #expect(bytes == "HTTP/1.1 308 Permanent Redirect\r\nLocation: \(expected)\r\nContent-Length: 0\r\n\r\n")
    }
}
