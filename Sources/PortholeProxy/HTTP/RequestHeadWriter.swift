public import NIOCore
import PortholeCore

/// What the proxy adds to or changes in a request on its way to the sandbox.
struct ForwardingRewrite {
    /// `X-Forwarded-For` gets this appended (the client's address as text).
    var clientAddress: String
    /// `X-Forwarded-Proto`.
    var scheme: StaticString
    /// `X-Forwarded-Port`: the port the client connected to.
    var listenerPort: String
    /// Present `Host: localhost:<port>` instead of the client's Host (dev servers that check Host).
    var rewriteHostToLocalhost: Bool
    var upstreamPort: UInt16
    /// The request target without the `preview_token` parameter, when the client sent one.
    var strippedTarget: String?
}

/// Writes the request head the sandbox sees, in one buffer: the client's head with hop-by-hop
/// fields, credentials meant for Porthole and spoofable forwarding fields removed, and the
/// forwarding fields set (RFC 9110 §7.6.1, RFC 7239's de-facto X-Forwarded-* forms).
enum RequestHeadWriter {
    static func write(
        _ head: RequestHead,
        from bytes: UnsafeRawBufferPointer,
        rewrite: ForwardingRewrite,
        into buffer: inout ByteBuffer
    ) {
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.method]))
        buffer.writeStaticString(" ")
        if let target = rewrite.strippedTarget {
            buffer.writeString(target)
        } else {
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.target]))
        }
        // HTTP/1.0 clients are forwarded as HTTP/1.0 so the upstream never answers them chunked.
        buffer.writeStaticString(head.version == .http11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n")

        var forwardedFor: Range<Int>? = nil
        var extraForwardedFor = false
        for field in head.fields {
            if field.listedInConnection { continue }
            switch field.kind {
            case .connection, .keepAlive, .proxyConnection, .te, .previewToken,
                .xForwardedProto, .xForwardedHost, .xForwardedPort:
                continue
            case .upgrade:
                if head.isUpgrade { buffer.writeField(bytes, field) }
            case .host:
                if rewrite.rewriteHostToLocalhost {
                    buffer.writeStaticString("Host: localhost:")
                    buffer.writeString(String(rewrite.upstreamPort))
                    buffer.writeStaticString("\r\n")
                } else {
                    buffer.writeField(bytes, field)
                }
            case .cookie:
                // Porthole's own session cookie is a credential for Porthole, not for the sandbox.
                if ASCII.contains(bytes, field.value, PreviewSessionCookie.name) {
                    let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self)
                    if let remaining = CookieHeader.removing(name: PreviewSessionCookie.name, from: value) {
                        buffer.writeStaticString("Cookie: ")
                        buffer.writeString(remaining)
                        buffer.writeStaticString("\r\n")
                    }
                } else {
                    buffer.writeField(bytes, field)
                }
            case .xForwardedFor:
                // Several X-Forwarded-For lines are one list; they are merged into one line below.
                if forwardedFor == nil { forwardedFor = field.value } else { extraForwardedFor = true }
            default:
                buffer.writeField(bytes, field)
            }
        }

        buffer.writeStaticString("X-Forwarded-For: ")
        if let forwardedFor {
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[forwardedFor]))
            if extraForwardedFor {
                for field in head.fields where field.kind == .xForwardedFor && field.value != forwardedFor {
                    buffer.writeStaticString(", ")
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
                }
            }
            buffer.writeStaticString(", ")
        }
        buffer.writeString(rewrite.clientAddress)
        buffer.writeStaticString("\r\nX-Forwarded-Proto: ")
        buffer.writeStaticString(rewrite.scheme)
        if let host = head.hostField {
            buffer.writeStaticString("\r\nX-Forwarded-Host: ")
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.fields[host].value]))
        }
        buffer.writeStaticString("\r\nX-Forwarded-Port: ")
        buffer.writeString(rewrite.listenerPort)
        buffer.writeStaticString(head.isUpgrade ? "\r\nConnection: upgrade\r\n\r\n" : "\r\n\r\n")
    }
}
