import NIOCore
import PortholeCore

/// Writes the response head the client sees: the upstream's head minus hop-by-hop fields
/// (RFC 9110 §7.6.1), plus `Connection: close` when the proxy will close the client connection,
/// in the proxy's own protocol version: an HTTP/1.0 upstream's `HTTP/1.0 200` reaches the client
/// as `HTTP/1.1 200` (RFC 9110 §6.2: the version is the sender's, hop by hop), and every
/// `Set-Cookie` without its `Domain` attribute (``SetCookieDomain``), and the operator's fields
/// (`extraFields`: the frame-ancestors policy). When there is nothing to
/// change the caller forwards the upstream bytes untouched instead.
///
/// A response the proxy compresses (``ResponseCompression``) loses its length, transfer coding
/// and `Accept-Ranges` (the ranges were of the uncompressed bytes), gets a weak `ETag` (the bytes
/// differ from the sandbox's, the meaning does not: RFC 9110 §8.8.1), and says how it is encoded
/// and that the encoding depended on `Accept-Encoding`.
enum ResponseHeadWriter {
    /// With `hostRewrite`: URLs of the dev server's own origin in `Location`, `Content-Location`
    /// and `Refresh` become the preview's (``LocalOriginMapping``).
    struct LocalOriginRewrite {
        /// The port the sandbox serves on, as in `http://localhost:<port>`.
        var port: UInt16
        /// `<scheme>://<Host>` of the preview, as the client used it.
        var previewOrigin: [UInt8]
    }

    static func needsRewrite(_ head: ResponseHead, closingClient: Bool) -> Bool {
        head.version == .http10 || head.hasHopByHopFields || head.hasForbiddenFramingFields || head.hasCookieDomains || closingClient
    }

    static func write(
        _ head: ResponseHead,
        from bytes: UnsafeRawBufferPointer,
        end: Int,
        closingClient: Bool,
        compressing coding: ContentCoding? = nil,
        mappingLocalOrigins local: LocalOriginRewrite? = nil,
        adding extraFields: String? = nil,
        into buffer: inout ByteBuffer
    ) {
        // Every kept line comes from the head's first `end` bytes; the rest is fixed text (and
        // two bytes more for each weakened ETag).
        var added = coding == nil ? 32 : 32 + Self.compressionFieldsBytes + 2 * head.fields.count
        // Each mapped URL may grow by the preview origin's length.
        if let local { added += 3 * local.previewOrigin.count }
        added += extraFields?.utf8.count ?? 0
        HeadBytesWriter.write(into: &buffer, maximumBytes: end + added) { writer in
            write(head, from: bytes, closingClient: closingClient, compressing: coding, mappingLocalOrigins: local, into: &writer)
            if let extraFields { writer.append(string: extraFields) }
            writer.append("\r\n")
        }
    }

    /// The longest of the fields a compressed response gets.
    private static let compressionFieldsBytes = 80

    private static func write(
        _ head: ResponseHead,
        from bytes: UnsafeRawBufferPointer,
        closingClient: Bool,
        compressing coding: ContentCoding?,
        mappingLocalOrigins local: LocalOriginRewrite?,
        into writer: inout HeadBytesWriter
    ) {
        let compressing = coding != nil
        // Each of the three fields at most once: that bounds the room reserved above.
        var mapped: Set<HeaderField.Kind> = []
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
            case .contentLength where head.hasForbiddenFramingFields || compressing,
                .transferEncoding where head.hasForbiddenFramingFields || compressing,
                .acceptRanges where compressing:
                continue
            case .location where local != nil && !mapped.contains(.location),
                .contentLocation where local != nil && !mapped.contains(.contentLocation),
                .refresh where local != nil && !mapped.contains(.refresh):
                let value = UnsafeRawBufferPointer(rebasing: bytes[field.value])
                let urlStart = field.kind == .refresh ? LocalOriginMapping.refreshURLStart(value) : 0
                guard let local, !field.listedInConnection, let urlStart,
                    let prefix = LocalOriginMapping.localOriginPrefix(UnsafeRawBufferPointer(rebasing: value[urlStart...]), port: local.port)
                else {
                    if !field.listedInConnection { copier.keep(field, from: bytes, into: &writer) }
                    continue
                }
                mapped.insert(field.kind)
                copier.flush(from: bytes, into: &writer)
                writer.append(UnsafeRawBufferPointer(rebasing: bytes[field.line.lowerBound..<(field.value.lowerBound + urlStart)]))
                local.previewOrigin.withUnsafeBytes { writer.append($0) }
                writer.append(UnsafeRawBufferPointer(rebasing: bytes[(field.value.lowerBound + urlStart + prefix)..<field.lineEnd]))
            case .etag where compressing && !field.listedInConnection:
                copier.flush(from: bytes, into: &writer)
                let value = field.value
                let isWeak = value.count >= 2 && bytes[value.lowerBound] == UInt8(ascii: "W") && bytes[value.lowerBound + 1] == UInt8(ascii: "/")
                writer.append(UnsafeRawBufferPointer(rebasing: bytes[field.line.lowerBound..<value.lowerBound]))
                if !isWeak { writer.append("W/") }
                writer.append(UnsafeRawBufferPointer(rebasing: bytes[value.lowerBound..<field.lineEnd]))
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
        switch coding {
        case .gzip?: writer.append("Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nVary: Accept-Encoding\r\n")
        case .deflate?: writer.append("Content-Encoding: deflate\r\nTransfer-Encoding: chunked\r\nVary: Accept-Encoding\r\n")
        case nil: break
        }
        if closingClient { writer.append("Connection: close\r\n") }
    }
}
