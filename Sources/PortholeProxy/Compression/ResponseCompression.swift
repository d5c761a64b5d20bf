import NIOCore
import PortholeCore

/// Compressing a response on its way to the client: whether to (``coding(…)``), and the chunks
/// of compressed bytes that replace its body (``ChunkWriter``).
///
/// Only what is worth it and safe: the client accepts gzip or deflate; the sandbox did not encode
/// the response and did not forbid transforming it (`Cache-Control: no-transform`); it has a body
/// (not `HEAD`, 204, 304) that is not a range (206, or a request with `Range`); its type is in
/// the compressible list; it is longer than the threshold or of unknown length. HTTP/1.0 clients
/// get it as it is (the compressed body is chunked). A sandbox can opt out with the label
/// `porthole.dev/compression: off`, for an app that reflects secrets beside attacker-chosen text
/// (the BREACH side channel; README, "Compression").
enum ResponseCompression {
    static let sandboxLabel = "porthole.dev/compression"

    static func coding(
        settings: CompressionSettings,
        policy: SandboxPolicy?,
        request: RequestHead,
        requestBytes: UnsafeRawBufferPointer,
        response: ResponseHead,
        responseBytes: UnsafeRawBufferPointer
    ) -> ContentCoding? {
        guard settings.isEnabled, request.version == .http11, !request.isHEAD else { return nil }
        switch response.framing {
        case .none: return nil
        case .contentLength(let length) where length < settings.minimumBytes: return nil
        case .contentLength, .chunked, .untilClose: break
        }
        guard response.status >= 200, response.status != 206, !response.isContentEncoded, !response.forbidsTransform,
            let contentType = response.contentType,
            settings.types.contains(UnsafeRawBufferPointer(rebasing: responseBytes[contentType]))
        else { return nil }
        var accepted = AcceptEncoding()
        for field in request.fields {
            switch field.kind {
            case .acceptEncoding: accepted.read(UnsafeRawBufferPointer(rebasing: requestBytes[field.value]))
            case .range: return nil
            default: break
            }
        }
        guard let coding = accepted.preferred else { return nil }
        if let policy, policy.labels[sandboxLabel] == "off" { return nil }
        return coding
    }

    /// Writes compressed bytes as chunks of the chunked transfer coding, straight into the buffer
    /// that goes to the client: the chunk's size line is reserved in front of the data and
    /// filled in once the size is known, so nothing is copied.
    struct ChunkWriter {
        /// Room for the size line: up to 8 hex digits and CRLF.
        private static let sizeLineRoom = 10
        private var sizeLineStart = 0

        /// Starts a chunk at the end of `buffer`.
        mutating func begin(in buffer: inout ByteBuffer) {
            sizeLineStart = buffer.writerIndex
            buffer.writeRepeatingByte(0, count: Self.sizeLineRoom)
        }

        /// Ends the chunk begun in `buffer` (dropping it when no data was written), and with
        /// `last` the chunked body too.
        func end(in buffer: inout ByteBuffer, last: Bool) {
            let dataStart = sizeLineStart + Self.sizeLineRoom
            let size = buffer.writerIndex - dataStart
            if size == 0 {
                // Nothing to send: take the reserved room back (it is at the buffer's end).
                buffer.moveWriterIndex(to: sizeLineStart)
            } else {
                // The size line right-aligned against the data; the bytes before it are skipped by
                // moving the head of the buffer up (this chunk starts a buffer of its own) or, behind
                // a response head, by sliding the head forward over them.
                let digitCount = (Int.bitWidth - size.leadingZeroBitCount + 3) / 4
                let lineStart = dataStart - digitCount - 2
                for position in 0..<digitCount {
                    let nibble = UInt8(truncatingIfNeeded: size >> (4 * (digitCount - 1 - position))) & 0xF
                    buffer.setInteger(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10, at: lineStart + position)
                }
                buffer.setInteger(UInt8(ascii: "\r"), at: dataStart - 2)
                buffer.setInteger(UInt8(ascii: "\n"), at: dataStart - 1)
                let gap = lineStart - sizeLineStart
                if gap > 0 { Self.close(gap: gap, before: sizeLineStart, in: &buffer) }
                buffer.writeStaticString("\r\n")
            }
            if last { buffer.writeStaticString("0\r\n\r\n") }
        }

        /// Removes `gap` unused bytes at `start` by moving what comes before them (from the reader
        /// index) forward: usually nothing (a chunk at the start of its buffer) or a response head.
        private static func close(gap: Int, before start: Int, in buffer: inout ByteBuffer) {
            let reader = buffer.readerIndex
            if start > reader {
                buffer.withUnsafeMutableReadableBytes { bytes in
                    let base = bytes.baseAddress!
                    (base + gap).copyMemory(from: base, byteCount: start - reader)
                }
            }
            buffer.moveReaderIndex(forwardBy: gap)
        }
    }
}
