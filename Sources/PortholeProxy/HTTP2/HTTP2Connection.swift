import NIOCore
import NIOHPACK
import NIOHTTP2
import PortholeTLS

/// Who is at the other end of an HTTP/2 connection, as its first handler learnt it (from the
/// socket or the load balancer's PROXY protocol header): every stream's exchange is theirs.
struct HTTP2Client {
    var address: String
    var isTrusted: Bool
}

/// The HTTP/2 side of a client connection once ALPN chose `h2`: NIOHTTP2 for the protocol (its
/// framing, HPACK, flow control, and the limits a public server needs against floods of resets,
/// CONTINUATION, SETTINGS and PING frames), NIOHTTP2's connection manager for the idle timeout
/// and graceful GOAWAY, and for each stream a ``HTTP2StreamCodec`` below a
/// ``ProxyConnectionHandler`` of its own.
enum HTTP2Connection {
    /// Streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
    static let maximumConcurrentStreams = 100
    /// Bytes of request body a stream may have in flight unread, and the whole connection.
    static let streamWindow = 65535
    static let connectionWindow = 1024 * 1024

    /// Adds the HTTP/2 handlers at the end of `channel`'s pipeline.
    static func configure(channel: any Channel, loop: ProxyLoopContext, role: ListenerRole, client: HTTP2Client) throws {
        let configuration = loop.configuration
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maximumConcurrentStreams),
            // HPACK's bound on what a header block may decode to; past it NIOHTTP2 ends the whole
            // connection. Twice the HTTP/1.1 head limit, so that a stream whose head is merely
            // over that limit gets the same 431 as an HTTP/1.1 request.
            HTTP2Setting(parameter: .maxHeaderListSize, value: 2 * configuration.maximumHeadBytes),
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindow),
            // RFC 8441: WebSockets over HTTP/2 (extended CONNECT).
            HTTP2Setting(parameter: .enableConnectProtocol, value: 1),
        ]
        connection.targetWindowSize = connectionWindow
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.targetWindowSize = streamWindow
        // A stream's channel turns unwritable (and the handler stops reading from the sandbox)
        // once this much response is queued behind the client's flow-control window.
        stream.outboundBufferSizeHighWatermark = 64 * 1024
        stream.outboundBufferSizeLowWatermark = 32 * 1024

        let manager = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: channel.eventLoop,
            configuration: .init(
                maxIdleTime: configuration.keepAliveTimeout,
                maxAge: nil,
                // A drain's own deadline closes what is left (``ProxyServer/drain(timeout:)``).
                maxGraceTime: nil,
                keepalive: nil
            )
        )
        let boundLoop = NIOLoopBound(loop, eventLoop: channel.eventLoop)
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(FlushCoalescingHandler())
        _ = try operations.configureHTTP2Pipeline(
            mode: .server,
            connectionConfiguration: connection,
            streamConfiguration: stream,
            streamDelegate: manager.http2StreamDelegate
        ) { streamChannel in
            streamChannel.eventLoop.makeCompletedFuture {
                let loop = boundLoop.value
                loop.metrics.http2Streams.increment()
                try streamChannel.pipeline.syncOperations.addHandler(
                    HTTP2StreamCodec(sendTimeout: loop.configuration.sendTimeout, extraFields: loop.configuration.frameAncestors?.fieldLine))
                try streamChannel.pipeline.syncOperations.addHandler(
                    ProxyConnectionHandler(loop: loop, role: role, placement: .http2Stream(client))
                )
            }
        }
        let connectionHandler = HTTP2ConnectionHandler(loop: loop)
        try operations.addHandler(connectionHandler)
        try operations.addHandler(manager)
        connectionHandler.started()
    }
}

/// The connection-level bookkeeping of an HTTP/2 connection, taken over from the
/// ``ProxyConnectionHandler`` it replaced: the connection counts, its place under the connection
/// cap, and drains (a graceful GOAWAY through NIOHTTP2's connection manager behind it).
final class HTTP2ConnectionHandler: ChannelInboundHandler, DrainableConnection {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    private let loop: ProxyLoopContext
    private var context: ChannelHandlerContext?
    private var isOpen = true

    init(loop: ProxyLoopContext) {
        self.loop = loop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loop.register(self)
        loop.metrics.http2Connections.increment()
    }

    /// The handlers behind this one are in place. They were added after the channel became active
    /// (at the end of the TLS handshake), and NIOHTTP2's connection manager starts its idle timer
    /// on channelActive: it gets one, or a connection that never opens a stream would never close.
    func started() {
        guard let context, context.channel.isActive else { return }
        context.fireChannelActive()
        if loop.draining { drain() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closed()
        // ProxyServer counted this connection under the cap when the connection was accepted.
        loop.limits.connectionClosed()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed()
        context.fireChannelInactive()
    }

    private func closed() {
        guard isOpen else { return }
        isOpen = false
        loop.unregister(self)
        loop.metrics.activeConnections.decrement()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if Self.endsConnection(error) {
            if let tlsError = error as? TLSError, tlsError != .uncleanShutdown { loop.metrics.tlsFailures.increment() }
            context.close(promise: nil)
        }
    }

    /// NIOHTTP2 reports stream errors (it has reset the stream) and connection errors (it has sent
    /// GOAWAY) alike, and closes nothing itself. The abuse it detects, frames it cannot read, HPACK
    /// failures and TLS failures end the connection here at once; any other error is a stream's,
    /// or leaves a connection that GOAWAY already stopped, whose last stream closing starts the
    /// idle timer that closes it.
    static func endsConnection(_ error: any Error) -> Bool {
        switch error {
        case is NIOHTTP2Errors.ExcessiveRSTFrames, is NIOHTTP2Errors.ExcessiveContinuationFrames,
            is NIOHTTP2Errors.ExcessiveControlFrames, is NIOHTTP2Errors.ExcessiveNumberOfGlitches,
            is NIOHTTP2Errors.ExcessiveStreamErrors, is NIOHTTP2Errors.ExcessiveEmptyDataFrames,
            is NIOHTTP2Errors.ExcessivelyLargeHeaderBlock, is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering,
            is NIOHTTP2Errors.BadClientMagic, is NIOHTTP2Errors.MissingPreface, is NIOHTTP2Errors.UnableToParseFrame,
            is any NIOHPACKError, is TLSError:
            true
        default:
            false
        }
    }

    func drain() {
        context?.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }

    func forceClose() {
        context?.close(promise: nil)
    }
}

@available(*, unavailable)
extension HTTP2ConnectionHandler: Sendable {}
