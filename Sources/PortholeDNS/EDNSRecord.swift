/// What the resolver reads from a query's OPT pseudo-record (EDNS(0), RFC 6891 §6.1.2).
public struct EDNSRecord: Sendable, Hashable {
    /// The requestor's UDP payload size, as sent (the record's CLASS field).
    public let udpPayloadSize: UInt16
    /// Always 0: ``DNSQuery/parse(_:)`` refuses other versions.
    public let version: UInt8
    /// The DO bit (RFC 3225 §3): the client wants DNSSEC records; a response copies it.
    public let dnssecOK: Bool

    public init(udpPayloadSize: UInt16, version: UInt8 = 0, dnssecOK: Bool = false) {
        self.udpPayloadSize = udpPayloadSize
        self.version = version
        self.dnssecOK = dnssecOK
    }

    /// The largest UDP response the requestor takes. RFC 6891 §6.2.5: values below 512 are treated as 512.
    public var effectiveUDPPayloadSize: Int {
        max(512, Int(udpPayloadSize))
    }

    /// Appends the OPT record: root owner, TYPE 41, CLASS the payload size, TTL the extended RCODE,
    /// version and DO bit, no options (RFC 6891 §6.1.2, §6.1.3).
    func encode(into bytes: inout [UInt8], extendedResponseCode: UInt8 = 0) {
        bytes.append(0)
        bytes.appendUInt16(DNSRecordType.opt.rawValue)
        bytes.appendUInt16(udpPayloadSize)
        bytes.append(extendedResponseCode)
        bytes.append(version)
        bytes.appendUInt16(dnssecOK ? 0x8000 : 0)
        bytes.appendUInt16(0)
    }
}
