/// DNS over TCP puts a two-byte length in front of each message (RFC 1035 §4.2.2, RFC 7766 §8).
public enum DNSTCPFraming {
    /// The length prefix is 16 bits.
    public static let maximumMessageLength = 65535

    /// `message` with its length prefix.
    public static func frame(_ message: [UInt8]) throws(DNSMessageError) -> [UInt8] {
        guard message.count <= maximumMessageLength else { throw .messageTooLarge(message.count) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 + message.count)
        bytes.appendUInt16(UInt16(message.count))
        bytes.append(contentsOf: message)
        return bytes
    }
}
