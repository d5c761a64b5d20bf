import NIOCore

/// Writes the response head the client sees: the upstream's head minus hop-by-hop fields
/// (RFC 9110 §7.6.1), plus `Connection: close` when the proxy will close the client connection,
/// in the proxy's own protocol version: an HTTP/1.0 upstream's `HTTP/1.0 200` reaches the client
/// as `HTTP/1.1 200` (RFC 9110 §6.2: the version is the sender's, hop by hop), and every
/// `Set-Cookie` without its `Domain` attribute (``SetCookieDomain``). When there is nothing to
/// change the caller forwards the upstream bytes untouched instead.
enum ResponseHeadWriter {
    static func needsRewrite(_ head: ResponseHead, closingClient: Bool) -> Bool {
        head.version == .http10 || head.hasHopByHopFields || head.hasForbiddenFramingFields || head.hasCookieDomains || closingClient
    }

    static func write(
        _ head: ResponseHead,
        from bytes: UnsafeRawBufferPointer,
        end: Int,
        closingClient: Bool,
        into buffer: inout ByteBuffer
    ) {
        // Every kept line comes from the head's first `end` bytes; the rest is fixed text.
        HeadBytesWriter.write(into: &buffer, maximumBytes: end + 32) { writer in
            write(head, from: bytes, closingClient: closingClient, into: &writer)
        }
    }

    private static func write(
        _ head: ResponseHead,
        from bytes: UnsafeRawBufferPointer,
        closingClient: Bool,
        into writer: inout HeadBytesWriter
    ) {
        // The parser checked that the status line starts with the 8-byte version.
        var copier: FieldLineCopier
        if head.version == .http10 {
            writer.append("HTTP/1.1")
            copier = FieldLineCopier(keeping: 8..<head.statusLineEnd)
        } else {
            copier = FieldLineCopier(keeping: 0..<head.statusLineEnd)
        }
        for field in head.fields {
            switch field.kind {
            case .connection, .keepAlive, .proxyConnection:
                continue
            case .contentLength where head.hasForbiddenFramingFields, .transferEncoding where head.hasForbiddenFramingFields:
                continue
            case .setCookie where head.hasCookieDomains && !field.listedInConnection && SetCookieDomain.hasDomain(bytes, field.value):
                // Written here, without the attribute: what was kept so far goes first.
                copier.flush(from: bytes, into: &writer)
                var start = field.line.lowerBound
                SetCookieDomain.forEachDomainAttribute(bytes, field.value) { attribute in
                    writer.append(UnsafeRawBufferPointer(rebasing: bytes[start..<attribute.lowerBound]))
                    start = attribute.upperBound
                }
                writer.append(UnsafeRawBufferPointer(rebasing: bytes[start..<field.lineEnd]))
            default:
                if field.listedInConnection { continue }
                copier.keep(field, from: bytes, into: &writer)
            }
        }
        copier.flush(from: bytes, into: &writer)
        if closingClient { writer.append("Connection: close\r\n") }
        writer.append("\r\n")
    }
}
