internal import CZlib
import NIOCore
import PortholeCore

/// One zlib deflate stream over the system zlib, writing straight into `ByteBuffer`s.
///
/// Hand-written rather than compress-nio's `ZlibCompressor`: that one reads its input through
/// `withUnsafeMutableReadableBytes`, which copies every slice of a shared upstream read (copy on
/// write), and reports zlib's harmless "no progress" (`Z_BUF_ERROR`) as an error. Here the input
/// is read in place and the output grows as needed.
final class Deflater {
    enum Flush {
        /// Let zlib keep what it has not emitted yet.
        case none
        /// Emit everything so far on a byte boundary (`Z_SYNC_FLUSH`): what the client has
        /// received decodes completely, so a streamed response is not held back.
        case sync
        /// End the stream (the gzip or zlib trailer).
        case finish
    }

    let coding: ContentCoding
    let level: Int32
    private let stream: UnsafeMutablePointer<z_stream>

    /// `nil` when zlib cannot allocate its state: the response then goes out uncompressed.
    init?(coding: ContentCoding, level: Int32) {
        self.coding = coding
        self.level = level
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // A 32 KiB window (15 bits), +16 for the gzip wrapper, positive for zlib's (HTTP's deflate).
        let windowBits: Int32 = coding == .gzip ? 15 + 16 : 15
        guard porthole_deflateInit2(stream, level, windowBits, 8) == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            return nil
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Ready for a new response, keeping the allocated state.
    func reset() {
        deflateReset(stream)
    }

    /// Compresses `input` and appends what zlib emits to `output`, growing it as needed. False
    /// when zlib reports its state broken (it does not for valid use): the caller ends the response.
    func compress(_ input: UnsafeRawBufferPointer, flush: Flush, into output: inout ByteBuffer) -> Bool {
        let mode: Int32
        switch flush {
        case .none: mode = Z_NO_FLUSH
        case .sync: mode = Z_SYNC_FLUSH
        case .finish: mode = Z_FINISH
        }
        // zlib's input pointer is not const in its API, but deflate only reads through it.
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        // Room for all of it at once in the usual case: zlib's bound for this input, plus the
        // sync marker and the trailer.
        var room = Int(deflateBound(stream, UInt(input.count))) + 16
        while true {
            var result = Z_OK
            var outputFull = false
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { space in
                stream.pointee.next_out = space.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = UInt32(min(space.count, Int(UInt32.max)))
                result = deflate(stream, mode)
                outputFull = stream.pointee.avail_out == 0
                return space.count - Int(stream.pointee.avail_out)
            }
            // Z_BUF_ERROR: no progress was possible (nothing new to flush), which is not an error.
            guard result == Z_OK || result == Z_STREAM_END || result == Z_BUF_ERROR else {
                stream.pointee.next_in = nil
                stream.pointee.avail_in = 0
                return false
            }
            if result == Z_STREAM_END || result == Z_BUF_ERROR { break }
            if !outputFull && (flush != .none || stream.pointee.avail_in == 0) && flush != .finish { break }
            room = 16 * 1024
        }
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        return true
    }
}

@available(*, unavailable)
extension Deflater: Sendable {}
