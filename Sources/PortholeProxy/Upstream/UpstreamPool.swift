import NIOCore
import NIOPosix

/// Keep-alive connections to sandboxes, one pool per event loop so that a client connection and
/// its upstream share a loop: no locks and no thread hops on the data path.
/// Idle connections are kept below common dev-server keep-alive (Node closes after 5 s), so the
/// proxy closes first and rarely races a server-side close.
final class UpstreamPool {
    struct Configuration: Sendable {
        var connectTimeout: TimeAmount = .seconds(5)
        var idleTimeout: TimeAmount = .seconds(4)
        var maximumIdlePerKey = 512
    }

    /// A connection handed out by `lease`.
    struct Lease {
        let handler: UpstreamHandler
        let key: UpstreamKey
        /// True when it came from the pool: a failure before the first response byte may be a
        /// server-side keep-alive close, and a safe request can be retried on a fresh connection.
        let reused: Bool
    }

    private struct IdleConnection {
        let handler: UpstreamHandler
        let since: NIODeadline
    }

    private let eventLoop: any EventLoop
    private var configuration: Configuration
    private var idle: [UpstreamKey: [IdleConnection]] = [:]
    private var addresses: [UpstreamKey: SocketAddress] = [:]
    private var sweeper: Scheduled<Void>?
    private(set) var idleCount = 0

    init(eventLoop: any EventLoop, configuration: Configuration) {
        self.eventLoop = eventLoop
        self.configuration = configuration
    }

    /// An idle connection to `key` that is still open, if the pool has one. Synchronous, so the
    /// common keep-alive case costs no future or promise allocation.
    func leaseIdle(_ key: UpstreamKey) -> Lease? {
        eventLoop.assertInEventLoop()
        while let candidate = idle[key]?.popLast() {
            if idle[key]?.isEmpty == true { idle[key] = nil }
            idleCount -= 1
            candidate.handler.onIdleClose = nil
            if candidate.handler.isActive {
                return Lease(handler: candidate.handler, key: key, reused: true)
            }
        }
        return nil
    }

    /// A new connection to `key`.
    func connectNew(_ key: UpstreamKey) -> EventLoopFuture<Lease> {
        connect(key).map { Lease(handler: $0, key: key, reused: false) }
    }

    /// Takes back a connection whose exchange finished cleanly and that the upstream keeps open.
    func release(_ lease: Lease) {
        eventLoop.assertInEventLoop()
        let handler = lease.handler
        handler.owner = nil
        guard handler.isActive, (idle[lease.key]?.count ?? 0) < configuration.maximumIdlePerKey else {
            handler.close()
            return
        }
        idle[lease.key, default: []].append(IdleConnection(handler: handler, since: .now()))
        idleCount += 1
        handler.onIdleClose = { [unowned self] in self.remove(handler, key: lease.key) }
        handler.resumeReads()  // an idle connection must keep reading to notice the server's close
        scheduleSweep()
    }

    /// New settings (a reload): they apply to the next connect and the next sweep.
    func update(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Closes every idle connection (drain, shutdown).
    func closeAll() {
        let all = idle.values.flatMap { $0 }
        idle.removeAll()
        idleCount = 0
        for connection in all {
            connection.handler.onIdleClose = nil
            connection.handler.close()
        }
        sweeper?.cancel()
        sweeper = nil
    }

    private func remove(_ handler: UpstreamHandler, key: UpstreamKey) {
        guard var stack = idle[key], let index = stack.firstIndex(where: { $0.handler === handler }) else { return }
        stack.remove(at: index)
        idle[key] = stack.isEmpty ? nil : stack
        idleCount -= 1
    }

    private func connect(_ key: UpstreamKey) -> EventLoopFuture<UpstreamHandler> {
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
        let connected: EventLoopFuture<any Channel>
        if let address = addresses[key] {
            connected = bootstrap.connect(to: address)
        } else if let address = try? SocketAddress(ipAddress: key.target, port: Int(key.port)) {
            addresses[key] = address
            connected = bootstrap.connect(to: address)
        } else {
            connected = bootstrap.connect(host: key.target, port: Int(key.port))
        }
        return connected.flatMapThrowing { channel in
            try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
        }
    }

    /// One timer per pool, not per connection: idle connections older than the timeout are closed.
    private func scheduleSweep() {
        guard sweeper == nil else { return }
        sweeper = eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [unowned self] in
            self.sweeper = nil
            let cutoff = NIODeadline.now() - self.configuration.idleTimeout
            var expired: [UpstreamHandler] = []
            for (key, stack) in self.idle {
                // Stacks are ordered oldest first, so the expired ones are a prefix.
                let keep = stack.drop(while: { $0.since < cutoff })
                if keep.count != stack.count {
                    expired.append(contentsOf: stack.prefix(stack.count - keep.count).map(\.handler))
                    self.idle[key] = keep.isEmpty ? nil : Array(keep)
                    self.idleCount -= stack.count - keep.count
                }
            }
            for handler in expired {
                handler.onIdleClose = nil
                handler.close()
            }
            if self.idleCount > 0 { self.scheduleSweep() }
        }
    }
}

@available(*, unavailable)
extension UpstreamPool: Sendable {}
