/// Takes the bytes of a DNS-over-TCP stream as they arrive and yields whole messages (RFC 7766 §8).
///
/// A client may send several queries back to back and split any of them anywhere (RFC 7766 §6.2.1),
/// so the decoder keeps what it has until a whole message is there. A message is at most 65535 bytes
/// by construction of the prefix; call ``nextMessage()`` until it returns nil after each ``append(_:)``
/// and the decoder never holds more than one partial message plus the last read.
public struct DNSTCPFrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    /// Where the unread bytes start: consumed messages are dropped in bulk, not one shift each.
    private var start = 0

    public init() {}

    /// Bytes received and not yet returned as a message.
    public var bufferedByteCount: Int { buffer.count - start }

    /// True when no partial message is pending: a connection closed now lost nothing.
    public var isEmpty: Bool { bufferedByteCount == 0 }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message, without its prefix, or nil until more bytes arrive. A zero-length
    /// message is returned as empty; ``DNSQuery/parse(_:)`` refuses it as too short.
    public mutating func nextMessage() -> [UInt8]? {
        guard bufferedByteCount >= 2 else { return nil }
        let length = Int(buffer[start]) << 8 | Int(buffer[start + 1])
        guard bufferedByteCount >= 2 + length else { return nil }
        let message = Array(buffer[(start + 2)..<(start + 2 + length)])
        start += 2 + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        return message
    }
}
