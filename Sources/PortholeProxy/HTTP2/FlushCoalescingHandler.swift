import NIOCore

/// Turns the flushes of one event-loop tick into one. On an HTTP/2 connection every stream that
/// finishes a response flushes the connection, so a browser's burst of requests, answered by as
/// many sandbox connections within one tick, would leave as one TLS record and one `write(2)`
/// each. Placed between TLS and NIOHTTP2, this handler passes writes on at once and the first
/// flush of a tick once, after everything ready in the tick has been handled (the loop runs
/// queued tasks after its I/O events).
final class FlushCoalescingHandler: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var flushPending = false

    func flush(context: ChannelHandlerContext) {
        guard !flushPending else { return }
        flushPending = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushPending = false
            context.flush()
        }
    }
}

@available(*, unavailable)
extension FlushCoalescingHandler: Sendable {}
