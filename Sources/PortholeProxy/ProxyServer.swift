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
    private let drainingFlag = NIOLockedValueBox(false)
    private let limits: ConnectionLimits
    /// One for the process, so a sandbox is woken once whatever loop its requests arrive on;
    /// replaced when a reload changes the wake settings.
    private let wakeWebhook: NIOLockedValueBox<WakeWebhook?>
    /// Every port this process listens on: no sandbox target may point at one of them.
    public let ownListeners = OwnListeners()
    public let metrics: ProxyMetrics

    public init(
        configuration: ProxyConfiguration,
        group: any EventLoopGroup,
        policies: PolicyCache,
        certificates: TLSCertificateStore?,
        metrics: ProxyMetrics = ProxyMetrics(),
        logger: Logger
    ) throws {
        self.metrics = metrics
        self.configuration = configuration
        self.group = group
        self.certificates = certificates
        self.logger = logger
        var contexts: [ObjectIdentifier: NIOLoopBound<ProxyLoopContext>] = [:]
        let limits = ConnectionLimits()
        self.limits = limits
        let ownListeners = self.ownListeners
        // 64 random bits: another instance cannot guess it, so only a real loop matches.
        let viaPseudonym = "porthole-" + String(UInt64.random(in: .min ... .max), radix: 16)
        let wake = configuration.wake.map { WakeWebhook(settings: $0, group: group, logger: logger) }
        self.wakeWebhook = NIOLockedValueBox(wake)
        for loop in group.makeIterator() {
            contexts[ObjectIdentifier(loop)] = try loop.submit {
                NIOLoopBound(
                    ProxyLoopContext(
                        eventLoop: loop, configuration: configuration, policies: policies, metrics: metrics, limits: limits,
                        ownListeners: ownListeners, logger: logger, viaPseudonym: viaPseudonym, wake: wake
                    ),
                    eventLoop: loop
                )
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
        let metrics = self.metrics
        let logger = self.logger
        let listenerName = "\(listener.host):\(listener.port) (\(listener.role.mode))"
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            AcceptFailureHandler(listener: listenerName, metrics: metrics, logger: logger)
                        )
                    }
                }
                .serverChannelOption(.backlog, value: 4096)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                // TCP level, not `.socketOption(.tcp_nodelay)`: that is SOL_SOCKET with the same number,
                // SO_DEBUG, which needs CAP_NET_ADMIN and made NIO close every accepted connection of a
                // non-root process. (NIO sets this one by default too; stated here so nobody "adds" it again.)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 4)
                // A client may half-close after its request (RFC 9112 §9.6 lets it); it still gets the answer.
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                // NIO keeps each connection's last receive buffer for its next read, idle or not. A
                // request head (or a TLS record of one) fits in 1 KiB; bodies grow it as they stream.
                .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024, maximum: 65536))
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard let loop = contexts[ObjectIdentifier(channel.eventLoop)]?.value else {
                            throw ProxyServerError("no proxy context for this event loop")
                        }
                        var proxyRole = role
                        if proxyRole.publicPort == 0, let port = channel.localAddress?.port { proxyRole.publicPort = port }
                        if role.proxyProtocol {
                            try channel.pipeline.syncOperations.addHandler(ProxyProtocolDecoder())
                        }
                        // Over the connection cap: refuse by closing at once, before any TLS work.
                        // Once counted, the connection handler gives its place back when it is removed.
                        guard loop.limits.admitConnection(cap: loop.configuration.maximumConnections) else {
                            throw ProxyServerError.connectionLimit
                        }
                        do {
                            if case .https = role.mode, let certificates {
                                try channel.pipeline.syncOperations.addHandler(
                                    TLSServerHandler(context: certificates.context, allocator: channel.allocator, writeBuffer: loop.tlsWriteBuffer)
                                )
                            }
                            try channel.pipeline.syncOperations.addHandler(ProxyConnectionHandler(loop: loop, role: proxyRole))
                        } catch {
                            loop.limits.connectionClosed()  // the connection handler was never added, so never removed
                            throw error
                        }
                    }
                }
                .bind(host: listener.host, port: listener.port)
                .get()
        } catch {
            throw ListenerBindError(listener: listener.role.settingName, address: "\(listener.host):\(listener.port)", underlying: error)
        }
        channels.withLockedValue { $0.append(channel) }
        let port = channel.localAddress?.port ?? listener.port
        ownListeners.add(port: port)
        logger.info("listening", metadata: ["address": "\(listener.host):\(port)", "mode": "\(listener.role.mode)"])
        return port
    }

    /// True from the moment a drain starts: `/readyz` reports it so balancers stop sending.
    public var isDraining: Bool { drainingFlag.withLockedValue { $0 } }

    /// Marks the server as draining (readiness fails) without closing anything yet.
    public func markDraining() async {
        drainingFlag.withLockedValue { $0 = true }
        await onEveryLoop { $0.notReady = true }
    }

    /// Stops accepting, lets in-flight exchanges finish (idle keep-alive connections close at once,
    /// tunnels after the grace period), and after `timeout` closes whatever is left.
    /// Returns the number of connections that had to be cut.
    @discardableResult
    public func drain(timeout: Duration) async -> Int {
        await markDraining()
        let bound = channels.withLockedValue { channels in
            defer { channels.removeAll() }
            return channels
        }
        for channel in bound {
            try? await channel.close()
        }
        await onEveryLoop { $0.beginDrain() }
        let deadline = ContinuousClock.now + timeout
        while true {
            if await openConnections() == 0 {
                await onEveryLoop { $0.accessLog?.flush() }
                return 0
            }
            // Past the deadline, or cancelled (a second signal): stop waiting.
            guard ContinuousClock.now < deadline, !Task.isCancelled else { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        let remaining = await openConnections()
        logger.warning("drain deadline passed; closing open connections", metadata: ["connections": "\(remaining)"])
        await onEveryLoop { $0.closeAll() }
        return remaining
    }

    /// Applies a reloaded configuration on every event loop; connections stay open.
    public func apply(_ configuration: ProxyConfiguration) async {
        let wake = wakeWebhook.withLockedValue { current -> WakeWebhook? in
            if current?.settings != configuration.wake {
                current = configuration.wake.map { WakeWebhook(settings: $0, group: group, logger: logger) }
            }
            return current
        }
        await onEveryLoop { $0.apply(configuration, wake: wake) }
    }

    /// Client connections open now, all loops together, and the most that were open at once since
    /// the previous call (a burst between two calls is not missed).
    public func connectionsNowAndPeak() -> (open: Int, peak: Int) { limits.takeOpenAndPeak() }

    /// Client connections open on all event loops.
    public func openConnections() async -> Int {
        var total = 0
        for loop in group.makeIterator() {
            guard let bound = loopContexts[ObjectIdentifier(loop)] else { continue }
            total += (try? await loop.submit { bound.value.connections.count }.get()) ?? 0
        }
        return total
    }

    /// `/metrics`: the registry's series and every loop's exchange counters, each read on its loop.
    public func renderMetrics() async -> String {
        var totals = ExchangeCounters.Totals()
        for loop in group.makeIterator() {
            guard let bound = loopContexts[ObjectIdentifier(loop)] else { continue }
            // A loop that cannot run the read is shutting down: its counts are left out of this
            // scrape (Prometheus takes the drop as a counter reset).
            if let loopTotals = try? await loop.submit({ bound.value.exchanges.totals }).get() {
                totals.add(loopTotals)
            }
        }
        return metrics.render() + totals.render()
    }

    private func onEveryLoop(_ body: @escaping @Sendable (ProxyLoopContext) -> Void) async {
        for loop in group.makeIterator() {
            guard let bound = loopContexts[ObjectIdentifier(loop)] else { continue }
            try? await loop.submit { body(bound.value) }.get()
        }
    }
}

/// A server set-up failure, with a message that says what to fix.
public struct ProxyServerError: Error, CustomStringConvertible {
    public let description: String
    /// The connection cap refused this connection (expected under load, not a fault).
    let isConnectionLimit: Bool

    init(_ description: String) {
        self.description = description
        self.isConnectionLimit = false
    }

    private init(connectionLimit description: String) {
        self.description = description
        self.isConnectionLimit = true
    }

    static let connectionLimit = ProxyServerError(connectionLimit: "connection limit reached")
}
