import NIOCore
import PortholeCore

/// The proxy's own responses (errors, the token-for-cookie redirect, preflight answers, the
/// redirect to HTTPS) as the bytes that go to the client. Pure: tested without a connection.
/// `close` adds `Connection: close`; otherwise the connection stays open for the next request.
/// `extraFields` are the operator's (the frame-ancestors policy) for the pages a browser shows.
enum OwnResponse {
    /// An error page or JSON error (``ErrorResponse``), or a health answer. `withBody` is false
    /// for a `HEAD` request: the head says how long the body would be, and no body follows.
    static func error(
        _ error: ErrorResponse, html: Bool, close: Bool, withBody: Bool, extraFields: String? = nil, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let body = error.body(html: html)
        var buffer = allocator.buffer(capacity: 256 + body.count)
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(error.status))
        buffer.writeStaticString(" ")
        buffer.writeString(ErrorResponse.reasonPhrase(error.status))
        buffer.writeStaticString("\r\nContent-Type: ")
        buffer.writeString(error.contentType(html: html))
        buffer.writeStaticString("\r\nContent-Length: ")
        buffer.writeString(String(body.count))
        buffer.writeStaticString("\r\nCache-Control: no-store\r\n")
        if let seconds = error.retryAfterSeconds {
            buffer.writeStaticString("Retry-After: ")
            buffer.writeString(String(seconds))
            buffer.writeStaticString("\r\n")
        }
        // E.g. the starting page, which reloads itself until the sandbox answers.
        if let seconds = error.refreshSeconds {
            buffer.writeStaticString("Refresh: ")
            buffer.writeString(String(seconds))
            buffer.writeStaticString("\r\n")
        }
        if error.status == 401 { buffer.writeStaticString("WWW-Authenticate: Preview-Token\r\n") }
        if let extraFields { buffer.writeString(extraFields) }
        if close { buffer.writeStaticString("Connection: close\r\n") }
        buffer.writeStaticString("\r\n")
        if withBody { buffer.writeBytes(body) }
        return buffer
    }

    /// `302` to `location` (a same-origin path) setting the session cookie: the query token has
    /// been traded, and the browser must not keep the URL that carried it (nor send it as Referer).
    static func redirectWithCookie(
        location: String, setCookie: String, close: Bool, extraFields: String? = nil, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 512)
        buffer.writeStaticString("HTTP/1.1 302 Found\r\nLocation: ")
        buffer.writeString(location)
        buffer.writeStaticString("\r\nSet-Cookie: ")
        buffer.writeString(setCookie)
        buffer.writeStaticString("\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nContent-Length: 0\r\n")
        if let extraFields { buffer.writeString(extraFields) }
        end(&buffer, close: close)
        return buffer
    }

    /// `204` with the CORS fields (``CORSPreflight/responseFields``) that let the announced
    /// request through; that request still needs its token.
    static func preflight(_ fields: String, close: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 128 + fields.utf8.count)
        buffer.writeStaticString("HTTP/1.1 204 No Content\r\n")
        buffer.writeString(fields)
        buffer.writeStaticString("Cache-Control: no-store\r\n")
        end(&buffer, close: close)
        return buffer
    }

    /// `308` to the same URL over HTTPS.
    static func redirectToHTTPS(location: String, close: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256 + location.utf8.count)
        buffer.writeStaticString("HTTP/1.1 308 Permanent Redirect\r\nLocation: ")
        buffer.writeString(location)
        buffer.writeStaticString("\r\nContent-Length: 0\r\n")
        end(&buffer, close: close)
        return buffer
    }

    /// The HTTPS URL for a request to `host` (a validated Host field, its port dropped) and `target`.
    static func httpsLocation(host: String, httpsPort: Int, target: String) -> String {
        var location = "https://"
        var name = Substring(host)
        if let colon = name.lastIndex(of: ":"), !name.hasSuffix("]") { name = name[..<colon] }
        location += name
        if httpsPort != 443 { location += ":\(httpsPort)" }
        location += target
        return location
    }

    private static func end(_ buffer: inout ByteBuffer, close: Bool) {
        buffer.writeStaticString(close ? "Connection: close\r\n\r\n" : "\r\n")
    }
}
