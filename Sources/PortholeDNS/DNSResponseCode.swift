/// A response code: the 4-bit RCODE of the header (RFC 1035 §4.1.1), widened to 12 bits by the
/// extended RCODE of an OPT record when a response has one (RFC 6891 §6.1.3).
public struct DNSResponseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    public static let noError = DNSResponseCode(rawValue: 0)
    /// The server could not read the query.
    public static let formatError = DNSResponseCode(rawValue: 1)
    /// The server could not answer (upstream failed, or its answer could not be used).
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    /// NXDOMAIN: the name does not exist.
    public static let nameError = DNSResponseCode(rawValue: 3)
    /// The server does not do this kind of query (an opcode other than QUERY, a class other than IN).
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    /// The server will not answer this query: the resolver's answer to a name a sandbox may not reach.
    public static let refused = DNSResponseCode(rawValue: 5)

    public var description: String {
        switch self {
        case .noError: "NOERROR"
        case .formatError: "FORMERR"
        case .serverFailure: "SERVFAIL"
        case .nameError: "NXDOMAIN"
        case .notImplemented: "NOTIMP"
        case .refused: "REFUSED"
        default: "RCODE\(rawValue)"
        }
    }
}
