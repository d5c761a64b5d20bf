#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import NIOCore
public import PortholeCore

extension TrustedProxies {
    /// Whether a peer (a channel's `remoteAddress`, or a ``ProxyProtocolHeader``'s source) is a trusted
    /// proxy. Read from the socket address's bytes: no text is formatted or parsed. A UNIX-domain peer
    /// has no IP address and is not trusted.
    public func contains(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let ipv4):
            return contains(IPv4Address(UInt32(bigEndian: ipv4.address.sin_addr.s_addr)))
        case .v6(let ipv6):
            var bytes = ipv6.address.sin6_addr
            return withUnsafeBytes(of: &bytes) { contains(addressBytes: $0) }
        case .unixDomainSocket:
            return false
        }
    }
}
