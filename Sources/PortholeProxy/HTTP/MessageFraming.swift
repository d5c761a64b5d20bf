/// How the body of a message ends (RFC 9112 §6.3).
@_spi(Benchmarks) public enum MessageFraming: Sendable, Hashable {
    /// No body at all.
    case none
    /// Exactly this many bytes follow the head.
    case contentLength(Int64)
    /// Chunked transfer coding; the final chunk and trailers end it.
    case chunked
    /// The body runs until the sender closes the connection (responses only).
    case untilClose
}
