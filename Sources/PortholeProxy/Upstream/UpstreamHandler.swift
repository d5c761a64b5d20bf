import NIOCore

/// Receives events on an upstream channel and hands them to whoever leased the connection.
/// The only handler in the upstream pipeline, so writes go straight to the socket.
/// While the connection sits idle in the pool, any byte or close from the sandbox ends it.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The client connection currently using this upstream; nil while pooled.
    var owner: ProxyConnectionHandler?
    /// Set by the pool while this connection is idle in it, so a close can take it out.
    var idleIn: (pool: UpstreamPool, stack: UpstreamPool.IdleStack)?
    private(set) var context: ChannelHandlerContext?
    /// Kept from channel events, so the hot path asks a stored property rather than the channel.
    private(set) var isWritable = true
    private(set) var isActive = false
    /// A `read()` held back because the client could not take more bytes (backpressure).
    private var readHeld = false

    init() {}

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isActive = context.channel.isActive
    }

    func channelActive(context: ChannelHandlerContext) {
        isActive = true
        context.fireChannelActive()
    }

    /// The connect succeeded (reported before `channelActive` is).
    func connected() {
        isActive = true
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        isActive = false
        isWritable = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let owner {
            owner.upstreamRead(buffer)
        } else {
            // An idle upstream must stay silent; bytes now would be mistaken for the next response.
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.upstreamReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        isWritable = false
        if let owner {
            self.owner = nil
            owner.upstreamClosed()
        }
        if let (pool, stack) = idleIn {
            idleIn = nil
            pool.remove(self, from: stack)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        owner?.upstreamWritabilityChanged(isWritable: isWritable)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            // Half-closed by the sandbox: a close-delimited body has ended.
            if let owner {
                self.owner = nil
                owner.upstreamClosed()
            }
            context.close(promise: nil)
        }
    }

    func read(context: ChannelHandlerContext) {
        if let owner, !owner.clientIsWritable {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// The client drained its backlog: let held reads through.
    func resumeReads() {
        guard readHeld, let context else { return }
        readHeld = false
        context.read()
    }

    @inline(__always)
    func write(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    @inline(__always)
    func flush() {
        context?.flush()
    }

    /// Both in one pipeline step.
    @inline(__always)
    func writeAndFlush(_ buffer: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func close() {
        context?.close(promise: nil)
    }

    /// The client half-closed a tunnel: pass its FIN on, and keep reading the sandbox's answer.
    func closeOutput() {
        context?.close(mode: .output, promise: nil)
    }
}

@available(*, unavailable)
extension UpstreamHandler: Sendable {}
