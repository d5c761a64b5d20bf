/// Fired as a user inbound event by ``TLSServerHandler`` once the handshake is done, before any
/// application data is passed on.
public struct TLSHandshakeCompleted: Sendable, Hashable {
    /// The ALPN protocol agreed on (`"http/1.1"`, later `"h2"`), or nil when the client offered none we serve.
    public let negotiatedProtocol: String?
    /// The SNI name the client asked for, or nil when it sent none (a client connecting by IP address).
    public let serverName: String?

    public init(negotiatedProtocol: String?, serverName: String?) {
        self.negotiatedProtocol = negotiatedProtocol
        self.serverName = serverName
    }
}
