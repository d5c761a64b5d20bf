/// Why ``ProxyProtocolDecoder`` refused a connection. Fired through the pipeline just before the
/// decoder closes the connection, so a handler further in can log or count it; the message never
/// carries the client's bytes beyond a short, printable excerpt.
public struct ProxyProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case missingHeader
        case v1LineTooLong
        case v1Malformed(String)
        case v2UnsupportedVersion(UInt8)
        case v2UnsupportedCommand(UInt8)
        case v2UnsupportedAddressFamily(UInt8)
        case v2UnsupportedTransport(UInt8)
        case v2Datagram
        case v2TooLong(length: Int, maximum: Int)
        case v2AddressBlockTooShort(family: String, length: Int, needed: Int)
        case timeout
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    static let missingHeader = ProxyProtocolError(.missingHeader)
    static let v1LineTooLong = ProxyProtocolError(.v1LineTooLong)
    static let v2Datagram = ProxyProtocolError(.v2Datagram)
    static let timeout = ProxyProtocolError(.timeout)
    static func v1Malformed(_ reason: String) -> ProxyProtocolError { ProxyProtocolError(.v1Malformed(reason)) }
    static func v2UnsupportedVersion(_ version: UInt8) -> ProxyProtocolError { ProxyProtocolError(.v2UnsupportedVersion(version)) }
    static func v2UnsupportedCommand(_ command: UInt8) -> ProxyProtocolError { ProxyProtocolError(.v2UnsupportedCommand(command)) }
    static func v2UnsupportedAddressFamily(_ family: UInt8) -> ProxyProtocolError { ProxyProtocolError(.v2UnsupportedAddressFamily(family)) }
    static func v2UnsupportedTransport(_ transport: UInt8) -> ProxyProtocolError { ProxyProtocolError(.v2UnsupportedTransport(transport)) }
    static func v2TooLong(length: Int, maximum: Int) -> ProxyProtocolError { ProxyProtocolError(.v2TooLong(length: length, maximum: maximum)) }
    static func v2AddressBlockTooShort(family: String, length: Int, needed: Int) -> ProxyProtocolError {
        ProxyProtocolError(.v2AddressBlockTooShort(family: family, length: length, needed: needed))
    }

    /// True when the header did not arrive within the decoder's header timeout.
    public var isTimeout: Bool { base == .timeout }

    public var message: String {
        switch base {
        case .missingHeader:
            "the connection did not start with a PROXY protocol v1 or v2 header"
        case .v1LineTooLong:
            "PROXY v1 header has no CRLF within 107 bytes"
        case .v1Malformed(let reason):
            "malformed PROXY v1 header: \(reason)"
        case .v2UnsupportedVersion(let version):
            "PROXY v2 header has version \(version), expected 2"
        case .v2UnsupportedCommand(let command):
            "PROXY v2 header has command \(command), expected 0 (LOCAL) or 1 (PROXY)"
        case .v2UnsupportedAddressFamily(let family):
            "PROXY v2 header has address family \(family), expected 0…3"
        case .v2UnsupportedTransport(let transport):
            "PROXY v2 header has transport protocol \(transport), expected 0…2"
        case .v2Datagram:
            "PROXY v2 header describes a datagram flow, which cannot arrive on a TCP listener"
        case .v2TooLong(let length, let maximum):
            "PROXY v2 header announces \(length) bytes of addresses and TLVs, more than the \(maximum) allowed"
        case .v2AddressBlockTooShort(let family, let length, let needed):
            "PROXY v2 header for \(family) has \(length) bytes of addresses, needs at least \(needed)"
        case .timeout:
            "no complete PROXY protocol header within the header timeout"
        }
    }

    public var description: String { message }
}
