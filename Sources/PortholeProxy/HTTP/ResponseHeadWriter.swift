public import NIOCore

/// Writes the response head the client sees: the upstream's head minus hop-by-hop fields
/// (RFC 9110 §7.6.1), plus `Connection: close` when the proxy will close the client connection.
/// When there is nothing to change the caller forwards the upstream bytes untouched instead.
enum ResponseHeadWriter {
    static func needsRewrite(_ head: ResponseHead, closingClient: Bool) -> Bool {
        head.hasHopByHopFields || closingClient
    }

    static func write(
        _ head: ResponseHead,
        from bytes: UnsafeRawBufferPointer,
        end: Int,
        closingClient: Bool,
        into buffer: inout ByteBuffer
    ) {
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[0..<head.statusLineEnd]))
        for field in head.fields {
            switch field.kind {
            case .connection, .keepAlive, .proxyConnection:
                continue
            default:
                if field.listedInConnection { continue }
                buffer.writeField(bytes, field)
            }
        }
        if closingClient { buffer.writeStaticString("Connection: close\r\n") }
        buffer.writeStaticString("\r\n")
    }
}

extension ByteBuffer {
    /// Writes `name: value\r\n` from a parsed field.
    @inline(__always)
    mutating func writeField(_ bytes: UnsafeRawBufferPointer, _ field: HeaderField) {
        writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.name]))
        writeStaticString(": ")
        writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
        writeStaticString("\r\n")
    }
}
