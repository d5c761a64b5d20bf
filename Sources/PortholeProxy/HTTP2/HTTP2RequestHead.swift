import NIOCore
import NIOHPACK
import PortholeCore

/// Writes an HTTP/2 request's header block as the HTTP/1.1 request head that
/// ``ProxyConnectionHandler`` parses, so that an HTTP/2 stream meets exactly the rules an
/// HTTP/1.1 request meets (routing, tokens, cookies, header rules, limits) through one
/// implementation. Only what HTTP/2 says differently is decided here (RFC 9113 §8.3):
///
/// - `:authority` becomes `Host`; a `Host` field that says something else makes the request
///   malformed (§8.3.1), as does a request with neither.
/// - The `Cookie` crumbs HTTP/2 may split (§8.2.3) are joined with `; `.
/// - `TE` (only `trailers` is allowed in HTTP/2) is dropped: in HTTP/1.1 it is hop-by-hop.
/// - A body without `Content-Length` is sent chunked; with one, as is (NIOHTTP2 checks that the
///   DATA frames add up to it).
/// - Every byte HTTP/1.1 gives a meaning to is refused where it would change the head's shape: a
///   CR, LF or NUL in any value, a space in the method, path or authority. The HTTP/1.1 parser
///   then refuses whatever else it refuses in any request.
///
/// RFC 8441's extended CONNECT with `:protocol websocket` (a WebSocket over HTTP/2) becomes the
/// HTTP/1.1 upgrade a sandbox's WebSocket server expects: `GET` with `Upgrade: websocket` and a
/// fresh `Sec-WebSocket-Key` (HTTP/2 has none; the sandbox's `Sec-WebSocket-Accept` is checked by
/// no one and not passed on). Any other CONNECT is refused: Porthole proxies requests, not tunnels.
enum HTTP2RequestHead {
    /// How the request body follows the head on its way to ``ProxyConnectionHandler``.
    enum BodyFraming: Equatable {
        /// The HEADERS frame ended the stream: no body.
        case none
        /// `Content-Length` says how long it is: DATA payloads pass as they are.
        case contentLength
        /// Each DATA payload becomes one chunk; the end of the stream the last chunk.
        case chunked
        /// A WebSocket: once the sandbox switches protocols, DATA payloads are the tunnel's bytes.
        case webSocket
    }

    /// What the request head was, as much as the stream's codec needs.
    struct Summary: Equatable {
        var framing: BodyFraming
        var isHEAD: Bool
    }

    /// A `Sec-WebSocket-Key` for the upgrade upstream: 16 random bytes in base64 (RFC 6455 §4.1).
    static func webSocketKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        // Base64URL's alphabet differs from base64's in two letters; 16 bytes always need "==".
        return String(Base64URL.encode(bytes).map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 }) + "=="
    }

    /// Writes the HTTP/1.1 head for `headers` (a request's HEADERS block) into `buffer`.
    static func write(
        _ headers: HPACKHeaders, endStream: Bool, into buffer: inout ByteBuffer, webSocketKey: () -> String = webSocketKey
    ) throws(HTTP2RequestError) -> Summary {
        var method: String?
        var extendedProtocol: String?
        var path: String?
        var authority: String?
        var scheme: String?
        var host: String?
        var hasContentLength = false
        for (name, value, _) in headers {
            try checkValue(value, name: name)
            if name.utf8.first == UInt8(ascii: ":") {
                switch name {
                case ":method": method = try once(method, value, name)
                case ":path": path = try once(path, value, name)
                case ":authority": authority = try once(authority, value, name)
                case ":scheme": scheme = try once(scheme, value, name)
                case ":protocol": extendedProtocol = try once(extendedProtocol, value, name)
                default: throw HTTP2RequestError("the pseudo-header \(name) is not supported")
                }
            } else if name == "host" {
                host = try once(host, value, name)
            } else if name == "content-length" {
                hasContentLength = true
            }
        }
        guard let method, !method.isEmpty, method.utf8.allSatisfy(ASCII.isToken) else {
            throw HTTP2RequestError("the request has no valid :method")
        }
        let isWebSocket: Bool
        switch (method, extendedProtocol) {
        case ("CONNECT", nil):
            throw HTTP2RequestError("CONNECT is not supported")
        case ("CONNECT", let name?):
            guard name.lowercased() == "websocket" else { throw HTTP2RequestError("the :protocol \(name) is not supported (only websocket)") }
            guard !endStream else { throw HTTP2RequestError("a WebSocket request cannot end its stream") }
            isWebSocket = true
        case (_, nil):
            isWebSocket = false
        case (_, _?):
            throw HTTP2RequestError(":protocol is only for CONNECT")
        }
        guard let scheme, scheme == "https" || scheme == "http" else { throw HTTP2RequestError("the request's :scheme must be https") }
        guard let path, !path.isEmpty, path.utf8.allSatisfy(ASCII.isTarget) else {
            throw HTTP2RequestError("the request has no valid :path")
        }
        if let authority, let host, authority != host {
            throw HTTP2RequestError("the Host field and :authority name different hosts")
        }
        guard let hostValue = authority ?? host, !hostValue.isEmpty, hostValue.utf8.allSatisfy(ASCII.isTarget) else {
            throw HTTP2RequestError("the request names no host (:authority)")
        }

        let framing: BodyFraming = isWebSocket ? .webSocket : endStream ? .none : (hasContentLength ? .contentLength : .chunked)
        buffer.writeString(isWebSocket ? "GET" : method)
        buffer.writeStaticString(" ")
        buffer.writeString(path)
        buffer.writeStaticString(" HTTP/1.1\r\nhost: ")
        buffer.writeString(hostValue)
        buffer.writeStaticString("\r\n")
        if isWebSocket {
            buffer.writeStaticString("connection: upgrade\r\nupgrade: websocket\r\nsec-websocket-key: ")
            buffer.writeString(webSocketKey())
            buffer.writeStaticString("\r\n")
        }
        var cookiesWritten = false
        for (name, value, _) in headers {
            if name.utf8.first == UInt8(ascii: ":") || name == "host" || name == "te" { continue }
            // The upgrade's own fields are Porthole's to write.
            if isWebSocket && (name == "sec-websocket-key" || name == "upgrade" || name == "connection") { continue }
            if name == "cookie" {
                // All crumbs, joined, where the first one stood.
                guard !cookiesWritten else { continue }
                cookiesWritten = true
                buffer.writeStaticString("cookie: ")
                var first = true
                for crumb in headers.values(forHeader: "cookie", canonicalForm: false) {
                    if !first { buffer.writeStaticString("; ") }
                    first = false
                    buffer.writeSubstring(crumb)
                }
                buffer.writeStaticString("\r\n")
                continue
            }
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        if framing == .chunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        buffer.writeStaticString("\r\n")
        return Summary(framing: framing, isHEAD: method == "HEAD")
    }

    /// A pseudo-header (or `Host`) given twice makes the request malformed.
    private static func once(_ existing: String?, _ value: String, _ name: String) throws(HTTP2RequestError) -> String {
        guard existing == nil else { throw HTTP2RequestError("\(name) appears more than once") }
        return value
    }

    /// RFC 9113 §8.2.1: CR, LF and NUL are never valid in a field value; in an HTTP/1.1 head they
    /// would end the line early and smuggle a field (or a body) past the parser.
    private static func checkValue(_ value: String, name: String) throws(HTTP2RequestError) {
        if holdsForbiddenByte(value) {
            throw HTTP2RequestError("the value of \(name) holds a CR, LF or NUL")
        }
    }

    /// A CR, LF or NUL: what a field value may never carry (RFC 9113 §8.2.1), and could not in HTTP/1.1.
    static func holdsForbiddenByte(_ value: String) -> Bool {
        value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }
}

/// Why an HTTP/2 request is malformed (RFC 9113 §8.1.1): its stream is reset with PROTOCOL_ERROR.
struct HTTP2RequestError: Error, Equatable, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
