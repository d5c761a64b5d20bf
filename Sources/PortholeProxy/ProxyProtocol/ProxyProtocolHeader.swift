public import NIOCore

/// What a load balancer said about a connection in its PROXY protocol header. ``ProxyProtocolDecoder``
/// fires it as a user inbound event before any of the connection's bytes go up the pipeline:
///
/// ```swift
/// func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
///     if let header = event as? ProxyProtocolHeader, let client = header.source?.ipAddress {
///         clientAddress = client
///     }
///     context.fireUserInboundEventTriggered(event)
/// }
/// ```
public struct ProxyProtocolHeader: Sendable, Hashable {
    /// The client, as the balancer saw it. For a v2 `LOCAL` command (the balancer's own connection,
    /// typically a health check), a v1 `UNKNOWN` line and a v2 `UNSPEC` family or transport, the
    /// specification says to use the real connection endpoints: this is the channel's `remoteAddress`.
    /// Nil when the balancer forwarded a non-IP client (v2 `AF_UNIX`): there is no client address, and
    /// the balancer's address must not be mistaken for one.
    public var source: SocketAddress?
    /// The address the client connected to on the balancer; the channel's `localAddress` where
    /// ``source`` is the channel's `remoteAddress`, nil where ``source`` is nil.
    public var destination: SocketAddress?

    public init(source: SocketAddress?, destination: SocketAddress?) {
        self.source = source
        self.destination = destination
    }
}
