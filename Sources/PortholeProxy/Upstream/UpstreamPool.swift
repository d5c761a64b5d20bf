import Logging
import NIOCore
import NIOPosix
import PortholeCore

/// Keep-alive connections to sandboxes, one pool per event loop so that a client connection and
/// its upstream share a loop: no locks and no thread hops on the data path.
/// Idle connections are kept below common dev-server keep-alive (Node closes after 5 s), so the
/// proxy closes first and rarely races a server-side close.
final class UpstreamPool {
    struct Configuration: Sendable {
        var connectTimeout: TimeAmount = .seconds(5)
        var idleTimeout: TimeAmount = .seconds(4)
        var maximumIdlePerKey = 512
        /// Checked on every new connection, before a byte is sent: where it really went (after
        /// name resolution) must be an allowed target and not one of Porthole's own listeners.
        var targets: UpstreamTargetPolicy = .default
    }

    /// A connection handed out by `lease`.
    struct Lease {
        let handler: UpstreamHandler
        /// Where the connection goes back to: kept in the lease so a release needs no lookup.
        let stack: IdleStack
        var key: UpstreamKey { stack.key }
        /// True when it came from the pool: a failure before the first response byte may be a
        /// server-side keep-alive close, and a safe request can be retried on a fresh connection.
        let reused: Bool
    }

    /// The idle connections to one key, oldest first; a class so leases and handlers can point at it.
    final class IdleStack {
        let key: UpstreamKey
        fileprivate var connections: [IdleConnection] = []
        /// False once the sweeper dropped this (empty) stack from the pool's table.
        fileprivate var inTable = true

        init(key: UpstreamKey) {
            self.key = key
        }
    }

    fileprivate struct IdleConnection {
        let handler: UpstreamHandler
        let since: NIODeadline
    }

    private let eventLoop: any EventLoop
    private var configuration: Configuration
    private var idle: [UpstreamKey: IdleStack] = [:]
    private var addresses: [UpstreamKey: SocketAddress] = [:]
    private var sweeper: Scheduled<Void>?
    private(set) var idleCount = 0

    private let ownListeners: OwnListeners
    private let logger: Logger
    /// Makes a new upstream channel, connected, with an ``UpstreamHandler`` in its pipeline, in
    /// place of a socket: for the proxy's in-memory tests. `nil` in the server.
    var channelMaker: ((UpstreamKey) -> EventLoopFuture<any Channel>)?

    init(eventLoop: any EventLoop, configuration: Configuration, ownListeners: OwnListeners = OwnListeners(), logger: Logger = Logger(label: "porthole")) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.ownListeners = ownListeners
        self.logger = logger
    }

    /// An idle connection to `key` that is still open, if the pool has one. Synchronous, so the
    /// common keep-alive case costs no future or promise allocation.
    /// `likelyIn` is the stack a connection's previous lease came from: if it is still the pool's
    /// stack for `key`, the table lookup (hashing the key) is skipped.
    func leaseIdle(_ key: UpstreamKey, likelyIn hint: IdleStack? = nil) -> Lease? {
        eventLoop.assertInEventLoop()
        let stack: IdleStack
        if let hint, hint.inTable, hint.key == key {
            stack = hint
        } else if let found = idle[key] {
            stack = found
        } else {
            return nil
        }
        while let candidate = stack.connections.popLast() {
            idleCount -= 1
            candidate.handler.idleIn = nil
            if candidate.handler.isActive {
                return Lease(handler: candidate.handler, stack: stack, reused: true)
            }
        }
        return nil
    }

    /// A new connection to `key`.
    func connectNew(_ key: UpstreamKey) -> EventLoopFuture<Lease> {
        // The stack only once connected: refused connections must not leave empty stacks behind.
        connect(key).assumeIsolated().map { [self] handler in
            Lease(handler: handler, stack: stack(for: key), reused: false)
        }.nonisolated()
    }

    /// Takes back a connection whose exchange finished cleanly and that the upstream keeps open.
    func release(_ lease: Lease) {
        eventLoop.assertInEventLoop()
        let handler = lease.handler
        handler.owner = nil
        let stack = lease.stack
        guard handler.isActive, stack.connections.count < configuration.maximumIdlePerKey else {
            handler.close()
            return
        }
        if !stack.inTable {
            // Swept while this connection was out; whatever replaced it in the table takes it.
            return release(Lease(handler: handler, stack: self.stack(for: stack.key), reused: lease.reused))
        }
        stack.connections.append(IdleConnection(handler: handler, since: .now()))
        idleCount += 1
        handler.idleIn = (self, stack)
        handler.resumeReads()  // an idle connection must keep reading to notice the server's close
        scheduleSweep()
    }

    private func stack(for key: UpstreamKey) -> IdleStack {
        if let stack = idle[key] { return stack }
        let stack = IdleStack(key: key)
        idle[key] = stack
        return stack
    }

    /// New settings (a reload): they apply to the next connect and the next sweep.
    func update(_ configuration: Configuration) {
        // Cached addresses were judged under the old ranges: judge them again.
        if configuration.targets != self.configuration.targets { addresses.removeAll() }
        self.configuration = configuration
    }

    /// Closes every idle connection (drain, shutdown).
    func closeAll() {
        let all = idle.values.flatMap { stack in
            defer { stack.connections.removeAll() }
            return stack.connections
        }
        idleCount = 0
        for connection in all {
            connection.handler.idleIn = nil
            connection.handler.close()
        }
        sweeper?.cancel()
        sweeper = nil
    }

    /// An idle connection closed (by the sandbox, or an error): it leaves the pool.
    func remove(_ handler: UpstreamHandler, from stack: IdleStack) {
        guard let index = stack.connections.firstIndex(where: { $0.handler === handler }) else { return }
        stack.connections.remove(at: index)
        idleCount -= 1
    }

    private var bootstrap: ClientBootstrap {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)  // TCP level: see ProxyServer.bind
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
    }

    private func connect(_ key: UpstreamKey) -> EventLoopFuture<UpstreamHandler> {
        let targets = configuration.targets
        let ownListeners = self.ownListeners
        let logger = self.logger
        let connected: EventLoopFuture<any Channel>
        if let channelMaker {
            connected = channelMaker(key)
        } else if let address = addresses[key] {
            connected = bootstrap.connect(to: address)
        } else if let address = try? SocketAddress(ipAddress: key.target, port: Int(key.port)) {
            // An address literal is judged before any packet is sent to it (the metadata service
            // must not even see a SYN); only the address of a new key is checked, then cached.
            if let refusal = targets.refusal(for: key.target) {
                logger.warning(
                    "refused to connect to a sandbox target",
                    metadata: ["target": "\(key.target)", "port": "\(key.port)", "reason": "\(refusal)"]
                )
                return eventLoop.makeFailedFuture(refusal)
            }
            addresses[key] = address
            connected = bootstrap.connect(to: address)
        } else {
            connected = bootstrap.connect(host: key.target, port: Int(key.port))
        }
        return connected.flatMapThrowing { channel in
            // Checked again after connecting: a host-name target is judged by the address it
            // resolved to, and whether it is one of this host's own listeners needs the local
            // address. Nothing has been sent yet.
            if let refusal = Self.refusal(for: channel, targets: targets, ownListeners: ownListeners) {
                channel.close(promise: nil)
                logger.warning(
                    "refused to connect to a sandbox target",
                    metadata: ["target": "\(key.target)", "port": "\(key.port)", "reason": "\(refusal)"]
                )
                throw refusal
            }
            let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
            // NIO completes the connect before channelActive reaches the handler.
            handler.connected()
            return handler
        }
    }

    private static func refusal(for channel: any Channel, targets: UpstreamTargetPolicy, ownListeners: OwnListeners) -> UpstreamTargetRefusal? {
        guard let remote = channel.remoteAddress, let address = remote.ipAddress, let port = remote.port else {
            return .notAnAddress("\(channel.remoteAddress.map { "\($0)" } ?? "unknown")")
        }
        if let refusal = targets.refusal(for: address) { return refusal }
        // A connection to this host comes from the same address (or over loopback).
        let local = channel.localAddress?.ipAddress
        if ownListeners.contains(port: port), address == local || address.hasPrefix("127.") || address == "::1" {
            return .ownListener(address, port: port)
        }
        return nil
    }

    /// One timer per pool, not per connection: idle connections older than the timeout are closed.
    private func scheduleSweep() {
        guard sweeper == nil else { return }
        sweeper = eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [unowned self] in
            self.sweeper = nil
            let cutoff = NIODeadline.now() - self.configuration.idleTimeout
            var expired: [UpstreamHandler] = []
            var emptied: [UpstreamKey] = []
            for (key, stack) in self.idle {
                // Stacks are ordered oldest first, so the expired ones are a prefix.
                let count = stack.connections.prefix(while: { $0.since < cutoff }).count
                if count > 0 {
                    expired.append(contentsOf: stack.connections.prefix(count).map(\.handler))
                    stack.connections.removeFirst(count)
                    self.idleCount -= count
                }
                if stack.connections.isEmpty { emptied.append(key) }
            }
            // Empty stacks go, so a proxy that saw many sandboxes does not keep a stack for each.
            for key in emptied {
                self.idle.removeValue(forKey: key)?.inTable = false
            }
            for handler in expired {
                handler.idleIn = nil
                handler.close()
            }
            if self.idleCount > 0 { self.scheduleSweep() }
        }
    }
}

@available(*, unavailable)
extension UpstreamPool: Sendable {}
