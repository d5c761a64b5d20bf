public import Logging
public import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
public import PortholeStore
public import PortholeTLS

/// The data-path listeners: accepts connections, puts TLS (when the listener has it) and one
/// `ProxyConnectionHandler` on each, and keeps one upstream pool per event loop.
public final class ProxyServer: Sendable {
    /// One socket the proxy listens on.
    public struct Listener: Sendable {
        public var host: String
        public var port: Int
        public var role: ListenerRole

        public init(host: String, port: Int, role: ListenerRole) {
            self.host = host
            self.port = port
            self.role = role
        }
    }

    private let configuration: ProxyConfiguration
    private let group: any EventLoopGroup
    private let certificates: TLSCertificateStore?
    private let logger: Logger
    private let loopContexts: [ObjectIdentifier: NIOLoopBound<ProxyLoopContext>]
    private let channels: NIOLockedValueBox<[any Channel]>

    public init(
        configuration: ProxyConfiguration,
        group: any EventLoopGroup,
        policies: PolicyCache,
        certificates: TLSCertificateStore?,
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.group = group
        self.certificates = certificates
        self.logger = logger
        var contexts: [ObjectIdentifier: NIOLoopBound<ProxyLoopContext>] = [:]
        for loop in group.makeIterator() {
            contexts[ObjectIdentifier(loop)] = try loop.submit {
                NIOLoopBound(ProxyLoopContext(eventLoop: loop, configuration: configuration, policies: policies), eventLoop: loop)
            }.wait()
        }
        self.loopContexts = contexts
        self.channels = NIOLockedValueBox([])
    }

    /// Binds a listener and starts accepting. Returns the bound port (useful with port 0).
    @discardableResult
    public func bind(_ listener: Listener) async throws -> Int {
        let contexts = loopContexts
        let certificates = self.certificates
        let role = listener.role
        if case .https = role.mode, certificates == nil {
            throw ProxyServerError("an HTTPS listener needs certificates")
        }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let loop = contexts[ObjectIdentifier(channel.eventLoop)]?.value else {
                        throw ProxyServerError("no proxy context for this event loop")
                    }
                    var proxyRole = role
                    if proxyRole.publicPort == 0, let port = channel.localAddress?.port { proxyRole.publicPort = port }
                    if case .https = role.mode, let certificates {
                        try channel.pipeline.syncOperations.addHandler(TLSServerHandler(context: certificates.context, allocator: channel.allocator))
                    }
                    try channel.pipeline.syncOperations.addHandler(ProxyConnectionHandler(loop: loop, role: proxyRole))
                }
            }
            .bind(host: listener.host, port: listener.port)
            .get()
        channels.withLockedValue { $0.append(channel) }
        let port = channel.localAddress?.port ?? listener.port
        logger.info("listening", metadata: ["address": "\(listener.host):\(port)", "mode": "\(listener.role.mode)"])
        return port
    }

    /// Stops accepting new connections and closes idle upstream connections.
    public func stopAccepting() async {
        let bound = channels.withLockedValue { channels in
            defer { channels.removeAll() }
            return channels
        }
        for channel in bound {
            try? await channel.close()
        }
        for loop in group.makeIterator() {
            guard let bound = loopContexts[ObjectIdentifier(loop)] else { continue }
            try? await loop.submit { bound.value.pool.closeAll() }.get()
        }
    }
}

/// A server set-up failure, with a message that says what to fix.
public struct ProxyServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
