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

    // Spelled out because a public type's memberwise init is internal; the micro-benchmarks
    // (Benchmarks/Package.swift) build one.
    @_spi(Benchmarks) public init(
        clientAddress: String,
        trustForwardedFields: Bool,
        scheme: StaticString,
        listenerPort: String,
        rewriteHostToLocalhost: Bool,
        upstreamPort: UInt16,
        strippedTarget: String?
    ) {
        self.clientAddress = clientAddress
        self.trustForwardedFields = trustForwardedFields
        self.scheme = scheme
        self.listenerPort = listenerPort
        self.rewriteHostToLocalhost = rewriteHostToLocalhost
        self.upstreamPort = upstreamPort
        self.strippedTarget = strippedTarget
    }
}

/// Writes the request head the sandbox sees, in one buffer: the client's head with hop-by-hop
/// fields, credentials meant for Porthole and spoofable forwarding fields removed, and the
/// forwarding fields set (RFC 9110 §7.6.1, RFC 7239's de-facto X-Forwarded-* forms).
@_spi(Benchmarks) public enum RequestHeadWriter {
    @_spi(Benchmarks) public static func write(
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

        var forwardedFor = false
        var copier = FieldLineCopier()
        for field in head.fields {
            if field.listedInConnection { continue }
            switch field.kind {
            case .connection, .keepAlive, .proxyConnection, .te, .previewToken, .forwarded:
                continue
            case .xForwardedProto, .xForwardedHost, .xForwardedPort:
                if rewrite.trustForwardedFields { copier.keep(field, from: bytes, into: &buffer) }
            case .upgrade:
                if head.isUpgrade { copier.keep(field, from: bytes, into: &buffer) }
            case .host:
                if rewrite.rewriteHostToLocalhost {
                    copier.flush(from: bytes, into: &buffer)
                    buffer.writeStaticString("Host: localhost:")
                    buffer.writeString(String(rewrite.upstreamPort))
                    buffer.writeStaticString("\r\n")
                } else {
                    copier.keep(field, from: bytes, into: &buffer)
                }
            case .cookie:
                // Porthole's own session cookie is a credential for Porthole, not for the sandbox.
                if ASCII.contains(bytes, field.value, PreviewSessionCookie.name) {
                    copier.flush(from: bytes, into: &buffer)
                    writeCookie(bytes, field.value, without: PreviewSessionCookie.name, into: &buffer)
                } else {
                    copier.keep(field, from: bytes, into: &buffer)
                }
            case .xForwardedFor:
                // Several X-Forwarded-For lines are one list; they are merged below, empty ones dropped.
                if !field.value.isEmpty && rewrite.trustForwardedFields { forwardedFor = true }
            default:
                copier.keep(field, from: bytes, into: &buffer)
            }
        }
        copier.flush(from: bytes, into: &buffer)

        buffer.writeStaticString("X-Forwarded-For: ")
        if forwardedFor {
            for field in head.fields where field.kind == .xForwardedFor && !field.value.isEmpty {
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
                buffer.writeStaticString(", ")
            }
        }
        buffer.writeString(rewrite.clientAddress)
        buffer.writeStaticString("\r\n")
        // From a trusted proxy, its own X-Forwarded-Proto/Host/Port (kept above) win over ours.
        let kept = rewrite.trustForwardedFields ? head.fields.reduce(into: (proto: false, host: false, port: false)) { kept, field in
            switch field.kind {
            case .xForwardedProto: kept.proto = true
            case .xForwardedHost: kept.host = true
            case .xForwardedPort: kept.port = true
            default: break
            }
        } : (proto: false, host: false, port: false)
        if !kept.proto {
            buffer.writeStaticString("X-Forwarded-Proto: ")
            buffer.writeStaticString(rewrite.scheme)
            buffer.writeStaticString("\r\n")
        }
        if !kept.host, let host = head.hostField {
            buffer.writeStaticString("X-Forwarded-Host: ")
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.fields[host].value]))
            buffer.writeStaticString("\r\n")
        }
        if !kept.port {
            buffer.writeStaticString("X-Forwarded-Port: ")
            buffer.writeString(rewrite.listenerPort)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString(head.isUpgrade ? "Connection: upgrade\r\n\r\n" : "\r\n")
    }

    /// Writes a Cookie field without the cookie pairs named `name`, keeping every other byte as it
    /// came, separators included (cookie values need not be UTF-8); drops the field when nothing remains.
    private static func writeCookie(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>, without name: String, into buffer: inout ByteBuffer) {
        // Segments between semicolons, each with its own leading whitespace: rejoined with ";" they
        // reproduce the original spacing exactly.
        var kept: [Range<Int>] = []
        var start = value.lowerBound
        while start <= value.upperBound {
            var end = start
            while end < value.upperBound && bytes[end] != ASCII.semicolon { end += 1 }
            var lower = start
            while lower < end && (bytes[lower] == ASCII.space || bytes[lower] == ASCII.tab) { lower += 1 }
            if !isCookiePair(bytes, lower..<end, named: name) { kept.append(start..<end) }
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
        buffer.writeStaticString("Cookie: ")
        for (index, segment) in kept.enumerated() {
            if index > 0 { buffer.writeStaticString(";") }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[segment]))
        }
        buffer.writeStaticString("\r\n")
    }

    private static func isCookiePair(_ bytes: UnsafeRawBufferPointer, _ pair: Range<Int>, named name: String) -> Bool {
        var name = name
        return name.withUTF8 { name in
            guard pair.count > name.count, bytes[pair.lowerBound + name.count] == UInt8(ascii: "=") else { return false }
            for offset in 0..<name.count where bytes[pair.lowerBound + offset] != name[offset] { return false }
            return true
        }
    }
}
