import CZlib

/// zlib's inflate for the tests: reads gzip or zlib data as it arrives, so a test can check that
/// each chunk the proxy sent decodes on its own (a sync flush), not only the whole body.
final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private(set) var ended = false

    /// `gzip` true for the gzip wrapper, false for zlib's (HTTP's `deflate`).
    init(gzip: Bool) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = inflateInit2_(stream, gzip ? 15 + 16 : 15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK)
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Everything `input` decodes to; `nil` when it is not valid compressed data.
    func inflate(_ input: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        var input = input
        return input.withUnsafeMutableBufferPointer { source -> [UInt8]? in
            stream.pointee.next_in = source.baseAddress
            stream.pointee.avail_in = UInt32(source.count)
            var room = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let (status, produced) = room.withUnsafeMutableBufferPointer { space in
                    stream.pointee.next_out = space.baseAddress
                    stream.pointee.avail_out = UInt32(space.count)
                    let status = CZlib.inflate(stream, Z_SYNC_FLUSH)
                    return (status, space.count - Int(stream.pointee.avail_out))
                }
                output += room[..<produced]
                switch status {
                case Z_STREAM_END:
                    ended = true
                    return output
                case Z_OK where stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0:
                    continue
                case Z_OK, Z_BUF_ERROR:
                    return output
                default:
                    return nil
                }
            }
        }
    }
}

/// A response as the client got it: the head, and the body with its chunked framing removed.
struct ChunkedResponse {
    let head: String
    let body: [UInt8]
    /// The last chunk arrived.
    let isComplete: Bool
    /// Each chunk's data.
    let chunks: [[UInt8]]

    init?(_ bytes: [UInt8]) {
        guard let headEnd = bytes.indices.first(where: { bytes[$0...].starts(with: Array("\r\n\r\n".utf8)) }) else { return nil }
        head = String(decoding: bytes[..<(headEnd + 4)], as: UTF8.self)
        var index = headEnd + 4
        var chunks: [[UInt8]] = []
        var complete = false
        while let lineEnd = bytes[index...].indices.first(where: { bytes[$0...].starts(with: Array("\r\n".utf8)) }) {
            guard let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self), radix: 16) else { return nil }
            index = lineEnd + 2
            if size == 0 {
                complete = bytes[index...].starts(with: Array("\r\n".utf8))
                break
            }
            guard index + size + 2 <= bytes.count else { return nil }
            chunks.append(Array(bytes[index..<(index + size)]))
            index += size + 2
        }
        self.chunks = chunks
        self.body = chunks.flatMap { $0 }
        self.isComplete = complete
    }
}
