/// A resource record TYPE or question QTYPE (RFC 1035 §3.2.2, §3.2.3). A struct, not an enum: a query
/// may ask for any of 65536 types and the resolver passes most of them on without knowing them.
public struct DNSRecordType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// An IPv4 address, 4 bytes of RDATA (RFC 1035 §3.4.1).
    public static let a = DNSRecordType(rawValue: 1)
    /// An alias: RDATA is the canonical name (RFC 1035 §3.3.1).
    public static let cname = DNSRecordType(rawValue: 5)
    /// An IPv6 address, 16 bytes of RDATA (RFC 3596 §2.2).
    public static let aaaa = DNSRecordType(rawValue: 28)
    /// The EDNS(0) pseudo-record (RFC 6891 §6.1.1); only ever in the additional section.
    public static let opt = DNSRecordType(rawValue: 41)

    /// The length RDATA of this type must have, for the types whose records the resolver reads.
    var addressLength: Int? {
        switch self {
        case .a: 4
        case .aaaa: 16
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .a: "A"
        case .cname: "CNAME"
        case .aaaa: "AAAA"
        case .opt: "OPT"
        // RFC 3597 §5: the generic presentation form of a type.
        default: "TYPE\(rawValue)"
        }
    }
}
