import NIOCore
import NIOEmbedded
import PortholeCore
@testable import PortholeProxy
import PortholeStore
import Testing

/// Policies from a fixed table, answered at once: the proxy's in-memory tests do not exercise the
/// cache (``PolicyCache`` has tests of its own).
final class FixedPolicies: PolicySource, @unchecked Sendable {
    private(set) var policies: [String: SandboxPolicy]
    private var changeWaiters: [String: [EventLoopPromise<Void>]] = [:]

    init(_ policies: [SandboxPolicy]) {
        self.policies = Dictionary(uniqueKeysWithValues: policies.map { ($0.id, $0) })
    }

    func lookup(_ id: String, on eventLoop: any EventLoop) -> PolicyLookup {
        policies[id].map { .found($0) } ?? .notFound
    }

    /// Completes on the next ``change(_:)`` of `id`, or after `limit` on the loop's manual clock.
    func nextChange(of id: String, on eventLoop: any EventLoop, within limit: TimeAmount) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        changeWaiters[id, default: []].append(promise)
        eventLoop.scheduleTask(in: limit) { [self] in
            guard let index = changeWaiters[id]?.firstIndex(where: { $0.futureResult === promise.futureResult }) else { return }
            changeWaiters[id]!.remove(at: index)
            promise.succeed()
        }
        return promise.futureResult
    }

    /// A write to the store, as the change feed reports it.
    func change(_ policy: SandboxPolicy) {
        policies[policy.id] = policy
        for waiter in changeWaiters.removeValue(forKey: policy.id) ?? [] { waiter.succeed() }
    }
}

/// One client connection of the real ``ProxyConnectionHandler`` on an `EmbeddedEventLoop`: the
/// client and every upstream connection are `EmbeddedChannel`s, time is the loop's manual clock.
/// Nothing touches a socket and nothing waits.
final class InMemoryProxy {
    static let sandbox = "abc123"
    static let host = "3000-abc123.preview.localhost"

    let loop = EmbeddedEventLoop()
    let context: ProxyLoopContext
    let client: EmbeddedChannel
    let handler: ProxyConnectionHandler
    /// Every upstream connection the proxy opened, in order.
    private(set) var upstreams: [EmbeddedChannel] = []

    let policies: FixedPolicies

    /// `http2Stream`: the client channel is one HTTP/2 stream's, with its ``HTTP2StreamCodec``
    /// (it reads and writes `HTTP2Frame.FramePayload`s).
    init(
        configure: (inout ProxyConfiguration) -> Void = { _ in }, policy: SandboxPolicy? = nil, wake: WakeWebhook? = nil,
        http2Stream: Bool = false
    ) throws {
        var configuration = ProxyConfiguration(cookieSecret: try CookieSecret([UInt8](repeating: 7, count: 32)))
        configuration.accessLog = false
        configure(&configuration)
        let policy = policy ?? SandboxPolicy(id: Self.sandbox, target: "10.0.0.2", isPublic: true, previewToken: "t")
        policies = FixedPolicies([policy])
        context = ProxyLoopContext(
            eventLoop: loop, configuration: configuration, policies: policies, metrics: ProxyMetrics(),
            limits: ConnectionLimits(), wake: wake
        )
        client = EmbeddedChannel(loop: loop)
        client.remoteAddress = try SocketAddress(ipAddress: "192.0.2.7", port: 50_000)
        if http2Stream {
            handler = ProxyConnectionHandler(
                loop: context, role: ListenerRole(mode: .https, publicPort: 443),
                placement: .http2Stream(HTTP2Client(address: "192.0.2.7", isTrusted: false)))
            try client.pipeline.syncOperations.addHandler(HTTP2StreamCodec(sendTimeout: configuration.sendTimeout))
        } else {
            handler = ProxyConnectionHandler(loop: context, role: ListenerRole(mode: .plainProxy, publicPort: 80))
        }
        try client.pipeline.syncOperations.addHandler(handler)
        context.pool.channelMaker = { [unowned self] key in
            let upstream = EmbeddedChannel(loop: self.loop)
            do {
                upstream.remoteAddress = try SocketAddress(ipAddress: key.target, port: Int(key.port))
                try upstream.pipeline.syncOperations.addHandler(UpstreamHandler())
                try upstream.connect(to: upstream.remoteAddress!).wait()
            } catch {
                return self.loop.makeFailedFuture(error)
            }
            self.upstreams.append(upstream)
            return self.loop.makeSucceededFuture(upstream)
        }
        try client.connect(to: client.remoteAddress!).wait()
    }

    /// Bytes from the client, as one read.
    func send(_ text: String) throws {
        try client.writeInbound(ByteBuffer(string: text))
    }

    /// Everything the proxy wrote to the client since the last call.
    func received() throws -> String {
        try Self.drain(client)
    }

    /// The same as bytes, for bodies that are not text.
    func receivedBytes() throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try client.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.readableBytesView
        }
        return bytes
    }

    /// Bytes from upstream connection `index`, as one read.
    func upstreamSends(_ text: String, on index: Int = 0) throws {
        try upstreams[index].writeInbound(ByteBuffer(string: text))
    }

    /// Everything the proxy wrote to upstream connection `index` since the last call.
    func upstreamReceived(_ index: Int = 0) throws -> String {
        try Self.drain(upstreams[index])
    }

    private static func drain(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    /// Ends the test: whatever is still open is closed, so no channel outlives it.
    func finish() {
        _ = try? client.finish(acceptAlreadyClosed: true)
        for upstream in upstreams { _ = try? upstream.finish(acceptAlreadyClosed: true) }
    }
}

/// A request head for the test sandbox.
func get(_ path: String = "/", _ fields: String...) -> String {
    "GET \(path) HTTP/1.1\r\nHost: \(InMemoryProxy.host)\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n"
}
