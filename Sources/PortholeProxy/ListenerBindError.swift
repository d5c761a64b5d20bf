import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A listener that could not take its address, said so that an operator can act on it, instead of
/// NIO's `bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)`.
public struct ListenerBindError: Error, CustomStringConvertible {
    public let description: String

    /// `listener` names it as the settings do (`https`, `http`, `admin`); `address` is HOST:PORT.
    public init(listener: String, address: String, underlying: any Error) {
        let reason: String
        switch (underlying as? IOError)?.errnoCode {
        case EADDRINUSE?:
            reason = "the address is in use (another process, or another Porthole, listens there): stop it or choose another port"
        case EACCES?:
            reason = "permission denied: ports below 1024 need CAP_NET_BIND_SERVICE (deploy/ grants it), or choose a port above 1023"
        case EADDRNOTAVAIL?:
            reason = "that address is not one of this host's"
        default:
            reason = "\(underlying)"
        }
        description = "the \(listener) listener cannot bind \(address): \(reason)"
    }
}
