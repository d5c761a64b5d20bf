import PortholeCore

/// Follows the framing of a chunked body as it streams through, without copying or decoding it:
/// the proxy forwards chunked bodies verbatim and only needs to know where they end, and to refuse
/// framing that a peer could read differently (invalid sizes, bare LF, overflow: RFC 9112 §7.1).
/// Chunk data is skipped in one step, so the cost is proportional to the framing bytes only.
@_spi(Benchmarks) public struct ChunkedBodyScanner: Sendable {
    private enum State: Sendable {
        /// Expecting the first hex digit of a chunk size.
        case sizeStart
        /// Inside the hex digits of a chunk size.
        case size
        /// After a chunk size and whitespace: only `;` (an extension) may follow (RFC 9112 §7.1.1 BWS).
        case sizeWhitespace
        /// Inside a chunk extension, up to its CR.
        case chunkExtension
        /// Expecting the LF that ends a chunk-size line.
        case sizeLineFeed
        /// Inside chunk data; this many bytes remain.
        case data(Int64)
        /// Expecting the CR after chunk data.
        case dataCarriageReturn
        /// Expecting the LF after chunk data.
        case dataLineFeed
        /// At the start of a trailer line, or of the final empty line.
        case trailerLineStart
        /// Inside a trailer field line.
        case trailerLine
        /// Expecting the LF that ends a trailer line.
        case trailerLineFeed
        /// Expecting the LF of the final empty line.
        case finalLineFeed
        /// The last chunk and trailers have been seen; the message is complete.
        case done
    }

    /// Trailer sections larger than this are refused; nobody legitimately sends big trailers.
    static let maximumTrailerBytes = 16 * 1024
    /// Chunk extensions longer than this (per chunk) are refused; nothing real uses them.
    static let maximumExtensionBytes = 4 * 1024

    private var state: State = .sizeStart
    private var size: Int64 = 0
    private var digits = 0
    private var trailerBytes = 0
    private var extensionBytes = 0

    public init() {}

    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Scans `bytes` and returns how many of them belong to this body. When `isComplete` becomes
    /// true the rest of `bytes` belongs to whatever follows (a pipelined request, say).
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int {
        try scan(bytes) { _ in }
    }

    /// The same, and calls `data` with the range of each piece of chunk data in `bytes`, in order
    /// (the body without its framing, for a proxy that re-encodes it).
    @inline(__always)
    public mutating func scan(_ bytes: UnsafeRawBufferPointer, data: (Range<Int>) -> Void) throws(HTTPParseError) -> Int {
        var index = 0
        let count = bytes.count
        while index < count {
            switch state {
            case .data(let remaining):
                let step = Int(min(remaining, Int64(count - index)))
                data(index..<index + step)
                index += step
                state = remaining == Int64(step) ? .dataCarriageReturn : .data(remaining - Int64(step))
                continue
            case .done:
                return index
            default:
                break
            }
            let byte = bytes[index]
            index += 1
            switch state {
            case .sizeStart, .size:
                if let digit = ASCIIByte.hexValue(byte) {
                    // 15 hex digits already exceed any body we would accept; more is an overflow attempt.
                    guard digits < 15 else { throw .invalidChunkSize }
                    size = size << 4 | Int64(digit)
                    digits += 1
                    state = .size
                } else if digits > 0 && byte == ASCII.semicolon {
                    state = .chunkExtension
                } else if digits > 0 && (byte == ASCII.space || byte == ASCII.tab) {
                    state = .sizeWhitespace
                } else if digits > 0 && byte == ASCII.cr {
                    state = .sizeLineFeed
                } else {
                    throw .invalidChunkSize
                }
            case .sizeWhitespace:
                if byte == ASCII.semicolon {
                    state = .chunkExtension
                } else if byte != ASCII.space && byte != ASCII.tab {
                    throw .invalidChunkSize
                }
            case .chunkExtension:
                extensionBytes += 1
                guard extensionBytes <= Self.maximumExtensionBytes else { throw .invalidChunkFraming }
                if byte == ASCII.cr {
                    state = .sizeLineFeed
                } else if !ASCII.isFieldValue(byte) {
                    throw .invalidChunkFraming
                }
            case .sizeLineFeed:
                guard byte == ASCII.lf else { throw .invalidChunkFraming }
                state = size == 0 ? .trailerLineStart : .data(size)
                size = 0
                digits = 0
                extensionBytes = 0
            case .dataCarriageReturn:
                guard byte == ASCII.cr else { throw .invalidChunkFraming }
                state = .dataLineFeed
            case .dataLineFeed:
                guard byte == ASCII.lf else { throw .invalidChunkFraming }
                state = .sizeStart
            case .trailerLineStart:
                if byte == ASCII.cr {
                    state = .finalLineFeed
                } else {
                    guard ASCII.isToken(byte) else { throw .invalidChunkFraming }
                    trailerBytes += 1
                    state = .trailerLine
                }
            case .trailerLine:
                trailerBytes += 1
                guard trailerBytes <= Self.maximumTrailerBytes else { throw .trailersTooLarge }
                if byte == ASCII.cr {
                    state = .trailerLineFeed
                } else if !ASCII.isFieldValue(byte) {
                    throw .invalidChunkFraming
                }
            case .trailerLineFeed:
                guard byte == ASCII.lf else { throw .invalidChunkFraming }
                state = .trailerLineStart
            case .finalLineFeed:
                guard byte == ASCII.lf else { throw .invalidChunkFraming }
                state = .done
                return index
            case .data, .done:
                preconditionFailure("handled above")
            }
        }
        return index
    }

}
