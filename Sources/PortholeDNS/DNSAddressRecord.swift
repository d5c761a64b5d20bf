/// An A or AAAA record of an answer, whose address the firewall may allow for `ttl` seconds.
public struct DNSAddressRecord: Sendable, Hashable {
    /// The record's owner: the question name or a name reached from it through the answer's CNAMEs.
    public let owner: DNSName
    /// ``DNSRecordType/a`` or ``DNSRecordType/aaaa``.
    public let type: DNSRecordType
    /// 4 bytes for A, 16 for AAAA, in network order.
    public let address: [UInt8]
    /// Seconds. RFC 2181 §8: a TTL with the top bit set is read as 0.
    public let ttl: UInt32

    public init(owner: DNSName, type: DNSRecordType, address: [UInt8], ttl: UInt32) {
        self.owner = owner
        self.type = type
        self.address = address
        self.ttl = ttl
    }

    public var isIPv6: Bool { address.count == 16 }
}
