import Logging
import NIOCore
import PortholeCore
import PortholeStore
import PortholeNIOUtilities
import PortholeTLS

/// What every client connection on one event loop shares: the loop's upstream pool, the access
/// log buffer, the open connections (for drains) and the settings. Touched only on its loop.
final class ProxyLoopContext {
    let eventLoop: any EventLoop
    private(set) var configuration: ProxyConfiguration
    /// Bumped by every reload, so what connections derived from the old settings is re-derived.
    private(set) var configurationGeneration = 0
    private(set) var accessRules: AccessRules
    let policies: any PolicySource
    let metrics: ProxyMetrics
    /// Per-request counters and latencies of this loop, read by the metrics scrape.
    let exchanges = ExchangeCounters()
    let pool: UpstreamPool
    private(set) var accessLog: AccessLog?
    /// Open client connections, so a drain can reach each of them.
    private(set) var connections: [ObjectIdentifier: any DrainableConnection] = [:]
    /// Set by a drain: connections close after their current exchange.
    private(set) var draining = false
    /// Readiness fails from the moment a drain is announced, before anything closes.
    var notReady = false
    /// The connection caps, shared with every other loop.
    let limits: ConnectionLimits
    /// This process's pseudonym in `Via` (random per process): seeing it in a request means the
    /// request looped back through a sandbox target.
    let viaPseudonym: String
    /// Request heads on their way upstream, and rewritten response heads on their way to clients.
    let requestHeads = ReusableBuffer(maximumKeptCapacity: 16 * 1024)
    let responseHeads = ReusableBuffer(maximumKeptCapacity: 16 * 1024)
    /// Every connection on this loop parses its upstream's response head here, within one call, so
    /// an idle connection keeps no field array of its own.
    var responseHead = ResponseHead()
    /// Request heads' field arrays between requests: a connection borrows one per request, so an
    /// idle connection holds none and a busy loop allocates none.
    private var spareFieldArrays: [[HeaderField]] = []
    private static let maximumSpareFieldArrays = 1024
    /// A head with more fields (up to thousands fit in 32 KiB) gives its array back to malloc: the
    /// pool must not pin what one odd request grew.
    private static let maximumSpareFieldCapacity = 64
    /// Ciphertext for every TLS connection on this loop, in turn (an idle one holds none).
    let tlsWriteBuffer = ReusableBuffer()
    /// Wakes stopped sandboxes (the process's one, shared by every loop); nil without a wake URL.
    private(set) var wake: WakeWebhook?
    /// zlib streams for compressed responses, reset and reused.
    let deflaters = DeflaterPool()
    let logger: Logger

    init(
        eventLoop: any EventLoop, configuration: ProxyConfiguration, policies: any PolicySource, metrics: ProxyMetrics,
        limits: ConnectionLimits, ownListeners: OwnListeners = OwnListeners(), logger: Logger = Logger(label: "porthole"),
        viaPseudonym: String = "",
        wake: WakeWebhook? = nil
    ) {
        self.viaPseudonym = viaPseudonym
        self.logger = logger
        self.wake = wake
        self.eventLoop = eventLoop
        self.limits = limits
        self.configuration = configuration
        self.policies = policies
        self.metrics = metrics
        self.accessRules = AccessRules(
            reservedPorts: configuration.reservedPorts,
            cookieSecret: configuration.cookieSecret.bytes,
            cookieLifetime: configuration.cookieLifetime
        )
        self.pool = UpstreamPool(
            eventLoop: eventLoop,
            configuration: .init(
                connectTimeout: configuration.upstreamConnectTimeout,
                idleTimeout: configuration.upstreamIdleTimeout,
                maximumIdlePerKey: configuration.upstreamMaximumIdlePerTarget,
                targets: configuration.upstreamTargets
            ),
            ownListeners: ownListeners,
            logger: logger
        )
        self.accessLog = configuration.accessLog ? AccessLog(eventLoop: eventLoop) : nil
    }

    /// A reloaded configuration (SIGHUP): new requests and new connections follow it at once;
    /// exchanges in flight keep the timeouts they started with.
    func apply(_ configuration: ProxyConfiguration, wake: WakeWebhook? = nil) {
        self.configuration = configuration
        self.wake = wake
        configurationGeneration &+= 1
        accessRules = AccessRules(
            reservedPorts: configuration.reservedPorts,
            cookieSecret: configuration.cookieSecret.bytes,
            cookieLifetime: configuration.cookieLifetime
        )
        pool.update(
            .init(
                connectTimeout: configuration.upstreamConnectTimeout,
                idleTimeout: configuration.upstreamIdleTimeout,
                maximumIdlePerKey: configuration.upstreamMaximumIdlePerTarget,
                targets: configuration.upstreamTargets
            ))
        if configuration.accessLog {
            if accessLog == nil { accessLog = AccessLog(eventLoop: eventLoop) }
        } else {
            accessLog?.flush()
            accessLog = nil
        }
    }

    func takeFieldArray() -> [HeaderField] {
        spareFieldArrays.popLast() ?? []
    }

    func giveBack(fields: inout [HeaderField]) {
        guard fields.capacity > 0 else { return }
        if fields.capacity <= Self.maximumSpareFieldCapacity && spareFieldArrays.count < Self.maximumSpareFieldArrays {
            fields.removeAll(keepingCapacity: true)
            spareFieldArrays.append(fields)
        }
        fields = []  // so the spare is the only reference to its storage
    }

    func register(_ handler: any DrainableConnection) {
        connections[ObjectIdentifier(handler)] = handler
    }

    func unregister(_ handler: any DrainableConnection) {
        connections[ObjectIdentifier(handler)] = nil
    }

    /// Idle connections close now, busy ones after their exchange, tunnels after the grace period.
    func beginDrain() {
        draining = true
        notReady = true
        for connection in connections.values { connection.drain() }
        pool.closeAll()
    }

    /// The drain deadline passed: close whatever is still open.
    func closeAll() {
        for connection in connections.values { connection.forceClose() }
        accessLog?.flush()
    }
}

@available(*, unavailable)
extension ProxyLoopContext: Sendable {}

/// A client connection as a drain sees it (HTTP/1.1 or HTTP/2).
protocol DrainableConnection: AnyObject {
    /// The server drains: finish what is in flight, take nothing new, then close.
    func drain()
    /// The drain deadline passed: close now.
    func forceClose()
}
