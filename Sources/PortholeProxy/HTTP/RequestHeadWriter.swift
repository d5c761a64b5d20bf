public import NIOCore
import PortholeCore

/// What the proxy adds to or changes in a request on its way to the sandbox.
@_spi(Benchmarks) public struct ForwardingRewrite {
    /// `X-Forwarded-For` gets this appended (the client's address as text).
    var clientAddress: String
    /// The peer is a trusted proxy: its X-Forwarded-* fields are kept (For appended to). From anyone
    /// else they are replaced, so a client cannot claim another address or scheme.
    var trustForwardedFields: Bool
    /// `X-Forwarded-Proto`.
    var scheme: StaticString
    /// `X-Forwarded-Port`: the port the client connected to.
    var listenerPort: String
    /// Present `Host: localhost:<port>` instead of the client's Host (dev servers that check Host).
    var rewriteHostToLocalhost: Bool
    var upstreamPort: UInt16
    /// The request target without the `preview_token` parameter, when the client sent one.
    var strippedTarget: String?
    /// This Porthole's pseudonym, sent as `Via: 1.1 <pseudonym>` (RFC 9110 §7.6.3) so that a
    /// request that comes back to it through a sandbox target is recognised (508); empty: none.
    var viaPseudonym: String

    // Spelled out because a public type's memberwise init is internal; the micro-benchmarks
    // (Benchmarks/Package.swift) build one.
    @_spi(Benchmarks) public init(
        clientAddress: String,
        trustForwardedFields: Bool,
        scheme: StaticString,
        listenerPort: String,
        rewriteHostToLocalhost: Bool,
        upstreamPort: UInt16,
        strippedTarget: String?,
        viaPseudonym: String = ""
    ) {
        self.clientAddress = clientAddress
        self.trustForwardedFields = trustForwardedFields
        self.scheme = scheme
        self.listenerPort = listenerPort
        self.rewriteHostToLocalhost = rewriteHostToLocalhost
        self.upstreamPort = upstreamPort
        self.strippedTarget = strippedTarget
        self.viaPseudonym = viaPseudonym
    }
}

/// Writes the request head the sandbox sees, in one buffer: the client's head with hop-by-hop
/// fields, credentials meant for Porthole and spoofable forwarding fields removed, and the
/// forwarding fields set (RFC 9110 §7.6.1, RFC 7239's de-facto X-Forwarded-* forms).
@_spi(Benchmarks) public enum RequestHeadWriter {
    /// The most bytes `write` can produce for `head` (`headBytes` long). Every byte it copies comes
    /// from the head once, except the Host value (again as X-Forwarded-Host); a Cookie line it
    /// rewrites grows by at most one byte and is at least 25 bytes long (it holds the session
    /// cookie's name); the rest is `rewrite`'s own text and at most 152 bytes of field names.
    @_spi(Benchmarks) public static func maximumBytes(for head: RequestHead, headBytes: Int, rewrite: ForwardingRewrite) -> Int {
        let hostValue = head.hostField.map { head.fields[$0].value.count } ?? 0
        // With hostRewrite, Origin and Referer may each grow to `http://localhost:65535`.
        let localOrigins = rewrite.rewriteHostToLocalhost ? 2 * 24 : 0
        return headBytes + headBytes / 16 + hostValue + (rewrite.strippedTarget?.utf8.count ?? 0)
            + rewrite.clientAddress.utf8.count + rewrite.listenerPort.utf8.count
            + rewrite.scheme.utf8CodeUnitCount + rewrite.viaPseudonym.utf8.count + localOrigins + 192
    }

    @_spi(Benchmarks) public static func write(
        _ head: RequestHead,
        from bytes: UnsafeRawBufferPointer,
        rewrite: ForwardingRewrite,
        maximumBytes room: Int? = nil,
        into buffer: inout ByteBuffer
    ) {
        // `room`: `maximumBytes(for:headBytes:rewrite:)` when the caller already has it.
        let room = room ?? maximumBytes(for: head, headBytes: bytes.count, rewrite: rewrite)
        HeadBytesWriter.write(into: &buffer, maximumBytes: room) { writer in
            write(head, from: bytes, rewrite: rewrite, into: &writer)
        }
    }

    private static func write(
        _ head: RequestHead,
        from bytes: UnsafeRawBufferPointer,
        rewrite: ForwardingRewrite,
        into writer: inout HeadBytesWriter
    ) {
        writer.append(UnsafeRawBufferPointer(rebasing: bytes[head.method]))
        writer.append(" ")
        if let target = rewrite.strippedTarget {
            writer.append(string: target)
        } else {
            writer.append(UnsafeRawBufferPointer(rebasing: bytes[head.target]))
        }
        // HTTP/1.0 clients are forwarded as HTTP/1.0 so the upstream never answers them chunked.
        writer.append(head.version == .http11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n")

        var forwardedFor = false
        var copier = FieldLineCopier()
        for field in head.fields {
            if field.listedInConnection { continue }
            switch field.kind {
            case .connection, .keepAlive, .proxyConnection, .te, .previewToken, .forwarded, .underscored:
                continue
            case .xForwardedProto, .xForwardedHost, .xForwardedPort, .clientAddressClaim:
                if rewrite.trustForwardedFields { copier.keep(field, from: bytes, into: &writer) }
            case .upgrade:
                if head.isUpgrade { copier.keep(field, from: bytes, into: &writer) }
            case .host:
                if rewrite.rewriteHostToLocalhost {
                    copier.flush(from: bytes, into: &writer)
                    writer.append("Host: localhost:")
                    writer.appendDecimal(rewrite.upstreamPort)
                    writer.append("\r\n")
                } else {
                    copier.keep(field, from: bytes, into: &writer)
                }
            case .origin where rewrite.rewriteHostToLocalhost, .referer where rewrite.rewriteHostToLocalhost:
                // The dev server compares Origin (and some, Referer) with the Host it sees.
                if let prefix = previewOriginPrefix(field, head, bytes, rewrite) {
                    copier.flush(from: bytes, into: &writer)
                    writer.append(field.kind == .origin ? "Origin: http://localhost:" : "Referer: http://localhost:")
                    writer.appendDecimal(rewrite.upstreamPort)
                    writer.append(UnsafeRawBufferPointer(rebasing: bytes[(field.value.lowerBound + prefix)..<field.lineEnd]))
                } else {
                    copier.keep(field, from: bytes, into: &writer)
                }
            case .cookie:
                // Porthole's own session cookie is a credential for Porthole, not for the sandbox
                // (under either name: the legacy one is a substring of the current one).
                if ASCII.contains(bytes, field.value, PreviewSessionCookie.legacyName) {
                    copier.flush(from: bytes, into: &writer)
                    writeCookie(bytes, field.value, into: &writer)
                } else {
                    copier.keep(field, from: bytes, into: &writer)
                }
            case .xForwardedFor:
                // Several X-Forwarded-For lines are one list; they are merged below, empty ones dropped.
                if !field.value.isEmpty && rewrite.trustForwardedFields { forwardedFor = true }
            default:
                copier.keep(field, from: bytes, into: &writer)
            }
        }
        copier.flush(from: bytes, into: &writer)

        writer.append("X-Forwarded-For: ")
        if forwardedFor {
            for field in head.fields where field.kind == .xForwardedFor && !field.value.isEmpty && !field.listedInConnection {
                writer.append(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
                writer.append(", ")
            }
        }
        writer.append(string: rewrite.clientAddress)
        writer.append("\r\n")
        // From a trusted proxy, its own X-Forwarded-Proto/Host/Port (kept above) win over ours.
        let kept =
            rewrite.trustForwardedFields
            ? head.fields.reduce(into: (proto: false, host: false, port: false)) { kept, field in
                switch field.kind {
                case .xForwardedProto: kept.proto = true
                case .xForwardedHost: kept.host = true
                case .xForwardedPort: kept.port = true
                default: break
                }
            } : (proto: false, host: false, port: false)
        if !kept.proto {
            writer.append("X-Forwarded-Proto: ")
            writer.append(rewrite.scheme)
            writer.append("\r\n")
        }
        if !kept.host, let host = head.hostField {
            writer.append("X-Forwarded-Host: ")
            writer.append(UnsafeRawBufferPointer(rebasing: bytes[head.fields[host].value]))
            writer.append("\r\n")
        }
        if !kept.port {
            writer.append("X-Forwarded-Port: ")
            writer.append(string: rewrite.listenerPort)
            writer.append("\r\n")
        }
        if !rewrite.viaPseudonym.isEmpty {
            writer.append(head.version == .http11 ? "Via: 1.1 " : "Via: 1.0 ")
            writer.append(string: rewrite.viaPseudonym)
            writer.append("\r\n")
        }
        writer.append(head.isUpgrade ? "Connection: upgrade\r\n\r\n" : "\r\n")
    }

    /// How much of an Origin or Referer value is the preview's own origin (the whole value for an
    /// Origin), or nil when it names another.
    private static func previewOriginPrefix(_ field: HeaderField, _ head: RequestHead, _ bytes: UnsafeRawBufferPointer, _ rewrite: ForwardingRewrite) -> Int? {
        guard let host = head.hostField else { return nil }
        let value = UnsafeRawBufferPointer(rebasing: bytes[field.value])
        let hostValue = UnsafeRawBufferPointer(rebasing: bytes[head.fields[host].value])
        if field.kind == .origin {
            return LocalOriginMapping.isPreviewOrigin(value, scheme: rewrite.scheme, host: hostValue) ? value.count : nil
        }
        return LocalOriginMapping.previewOriginPrefix(value, scheme: rewrite.scheme, host: hostValue)
    }

    /// Writes a Cookie field without Porthole's session cookies (either name), keeping every other
    /// byte as it came, separators included (cookie values need not be UTF-8); drops the field when
    /// nothing remains.
    private static func writeCookie(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>, into writer: inout HeadBytesWriter) {
        // Segments between semicolons, each with its own leading whitespace: rejoined with ";" they
        // reproduce the original spacing exactly.
        var kept: [Range<Int>] = []
        var start = value.lowerBound
        while start <= value.upperBound {
            var end = start
            while end < value.upperBound && bytes[end] != ASCII.semicolon { end += 1 }
            // The same rule the authorisation reads the cookie with: what authenticates is removed.
            if !CookieHeader.isPair(bytes, start..<end, named: PreviewSessionCookie.name)
                && !CookieHeader.isPair(bytes, start..<end, named: PreviewSessionCookie.legacyName)
            {
                kept.append(start..<end)
            }
            start = end + 1
        }
        guard !kept.isEmpty else { return }
        // The first kept segment may start with the whitespace that followed a removed pair.
        while let first = kept.first, let byte = first.first, byte < first.upperBound,
            bytes[byte] == ASCII.space || bytes[byte] == ASCII.tab
        {
            kept[0] = first.dropFirst()
        }
        guard kept.count > 1 || !kept[0].isEmpty else { return }
        writer.append("Cookie: ")
        for (index, segment) in kept.enumerated() {
            if index > 0 { writer.append(";") }
            writer.append(UnsafeRawBufferPointer(rebasing: bytes[segment]))
        }
        writer.append("\r\n")
    }

}
