import NIOCore
import PortholeCore
import PortholeStore
import PortholeTLS

/// One client connection of the proxy: parses each request head strictly, routes it by host to a
/// sandbox, authorises it, and relays the exchange with the sandbox as the buffers it was read
/// into. Request and response bodies are never decoded or copied: only their framing is followed,
/// to know where each message ends. After a `101` both connections become a byte tunnel.
///
/// The upstream channel lives on the same event loop, so the two sides call each other directly.
/// Backpressure: a side reads only while the other side can take what it reads.
///
/// The handler is spread over this folder by concern, each file an extension:
/// `+Request` (heads, routing, authorisation), `+Forwarding` (the request upstream),
/// `+UpstreamResponse` (the response back), `+OwnResponses` (the proxy's own answers),
/// `+Accounting` (metrics, access log). Per-request state lives in ``Exchange``, replaced whole
/// for each request; the connection's timer is ``ConnectionTimer``. The members below are
/// internal only so those extensions can reach them: nothing else in the module touches them.
final class ProxyConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler, DrainableConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        /// Waiting for a request head; part of one may be in `pending`.
        case idle
        /// The head is parsed; the sandbox policy is loading from the store.
        case awaitingPolicy
        /// The request is allowed; an upstream connection is being leased.
        case connecting
        /// The request is sent upstream (its body may still be streaming); the response is awaited or relayed.
        case exchanging
        /// After `101 Switching Protocols`: bytes flow both ways untouched.
        case tunnel
        /// A final response is written; the connection closes once it is flushed.
        case closing
    }

    /// Upstream response heads larger than this are treated as a broken upstream.
    static let maximumResponseHeadBytes = 64 * 1024
    /// Pipelined bytes read ahead while a response is in progress before reading pauses.
    static let pipelineReadAhead = 16 * 1024
    /// Bytes the proxy will hold for a client while it waits (pipelined requests, policy loads).
    static let maximumHeldBytes = 256 * 1024
    /// Body bytes copied behind a rewritten response head so both go out as one TLS record.
    static let coalescedBodyBytes = 4 * 1024

    /// Where the handler sits. On an HTTP/2 stream it relays that stream's one exchange, and the
    /// connection's own concerns (counts, cap, keep-alive, drains) are ``HTTP2ConnectionHandler``'s.
    enum Placement {
        /// On a client connection, HTTP/1.1.
        case connection
        /// On one HTTP/2 stream, below its ``HTTP2StreamCodec``.
        case http2Stream(HTTP2Client)
        /// It was on a connection whose TLS handshake chose HTTP/2, and gave its place to the
        /// HTTP/2 handlers.
        case handedOverToHTTP2
    }

    let loop: ProxyLoopContext
    let role: ListenerRole
    private(set) var placement: Placement
    /// Set while the handler is in a pipeline.
    private(set) var context: ChannelHandlerContext?
    /// The TLS handler below this one, when the listener has TLS: plaintext is exchanged with it by
    /// direct calls (`TLSPlaintextReceiver`), not through the pipeline.
    private(set) var tls: TLSServerHandler?
    private(set) var allocator = ByteBufferAllocator()
    /// Kept from writability events, so the upstream side can ask on every read without a call
    /// into the channel.
    private(set) var clientIsWritable = true
    /// Whether something was written to the client (or upstream) since the last flush: a flush
    /// with nothing to send still walks the pipeline.
    private var clientNeedsFlush = false
    var upstreamNeedsFlush = false
    var state: State = .idle
    /// The request in flight, or ``Exchange/none``.
    var exchange = Exchange.none
    /// The client's address as text, for X-Forwarded-For; computed once per connection (or taken
    /// from the load balancer's PROXY protocol header).
    private(set) var clientAddress = ""
    /// Whether the HTTP peer is a trusted proxy whose X-Forwarded-* fields are believed.
    private(set) var peerIsTrusted = false
    let listenerPortText: String

    /// Client bytes not yet handled: a partial head, body bytes waiting for the upstream, or pipelined requests.
    var pending: ByteBuffer?
    /// A `read()` held back for backpressure.
    private var clientReadHeld = false
    /// Counted into the metrics when the connection closes (one atomic add, not one per read).
    private var bytesFromClient = 0

    /// Where the last upstream connection came from: the next request nearly always goes to the
    /// same sandbox port, and comparing its key is cheaper than hashing it.
    var lastStack: UpstreamPool.IdleStack?
    /// The target the last Host field named, the field's bytes, and the configuration generation
    /// it was parsed under (a reload may change the base domains): a keep-alive connection nearly
    /// always asks the same sandbox again, and comparing bytes is cheaper than parsing them.
    var lastTarget: PreviewHost?
    var lastHostField: [UInt8] = []
    var lastHostGeneration = 0

    private var drainTimer: Scheduled<Void>?
    /// Runs while the client takes nothing (``ProxyConfiguration/sendTimeout``).
    private var sendStallTimer: Scheduled<Void>?
    private var timer = ConnectionTimer()
    private var scheduledTimer: Scheduled<Void>?

    init(loop: ProxyLoopContext, role: ListenerRole, placement: Placement = .connection) {
        self.loop = loop
        self.role = role
        self.placement = placement
        self.listenerPortText = String(role.publicPort)
    }

    /// The loop's clock: the real one in production, a manual one in the in-memory tests.
    var now: NIODeadline { loop.eventLoop.now }

    /// Calls `body` with the exchange's parsed head and the bytes its ranges point into. Only
    /// those two leave `exchange` (two references retained): a method of `Exchange` called through
    /// this class's property copies the whole exchange first (about a dozen references, since
    /// the closure could change it), three times per request on the hot path.
    func withRequestHead<Result>(
        _ body: (_ head: RequestHead, _ bytes: UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        let head = exchange.head
        return try exchange.headBytes.withUnsafeReadableBytes { bytes in try body(head, bytes) }
    }

    // MARK: - Channel events

    /// Each exchange on an HTTP/2 stream is the stream's last.
    var isHTTP2Stream: Bool {
        if case .http2Stream = placement { return true }
        return false
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
        if case .http2Stream(let client) = placement {
            clientAddress = client.address
            peerIsTrusted = client.isTrusted
            // A drain reaches streams too: a WebSocket on one closes after the grace period.
            loop.register(self)
            return
        }
        if let tls = try? context.pipeline.syncOperations.handler(type: TLSServerHandler.self) {
            self.tls = tls
            tls.receiver = self
        }
        if let remote = context.channel.remoteAddress {
            clientAddress = remote.ipAddress ?? ""
            peerIsTrusted = loop.configuration.trustedProxies.contains(remote)
        }
        loop.register(self)
        loop.metrics.connectionsAccepted.increment()
        loop.metrics.activeConnections.increment()
        if context.channel.isActive { armTimer(loop.configuration.keepAliveTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        loop.unregister(self)
        // ProxyServer counted this connection when it added the handler (an HTTP/2 connection's
        // handler gives its place back instead).
        if case .connection = placement { loop.limits.connectionClosed() }
        releaseSandboxCount()
        cancelTimers()
        // The context holds this handler: keeping it would be a retain cycle, and every closed
        // connection would stay in memory (measured: about 4.5 KiB each). Likewise the TLS handler.
        self.context = nil
        tls?.receiver = nil
        tls = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            clientInputClosed()
            return
        }
        if let handshake = event as? TLSHandshakeCompleted {
            loop.metrics.tlsHandshakes.increment()
            if handshake.negotiatedProtocol == "h2" {
                switchToHTTP2(context: context)
                return
            }
        } else if let header = event as? ProxyProtocolHeader {
            // Behind an L4 balancer the HTTP peer is the client it names, not the balancer.
            clientAddress = header.source?.ipAddress ?? ""
            peerIsTrusted = header.source.map { loop.configuration.trustedProxies.contains($0) } ?? false
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// ALPN chose HTTP/2: the HTTP/2 handlers take this handler's place on the connection, with
    /// its accounting, and each stream gets a handler of its own. The switch happens within the
    /// handshake's event, before the TLS handler passes on any plaintext: the client's preface
    /// reaches NIOHTTP2.
    private func switchToHTTP2(context: ChannelHandlerContext) {
        placement = .handedOverToHTTP2
        cancelTimers()
        loop.unregister(self)
        tls?.receiver = nil
        tls = nil
        do {
            try HTTP2Connection.configure(
                channel: context.channel, loop: loop, role: role, client: HTTP2Client(address: clientAddress, isTrusted: peerIsTrusted)
            )
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            loop.logger.error("HTTP/2 set-up failed", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        armTimer(loop.configuration.keepAliveTimeout)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readComplete()
    }

    /// Bytes from the client: plaintext from TLS, or from the socket on a plain listener.
    private func received(_ input: ByteBuffer) {
        var buffer = input
        bytesFromClient &+= buffer.readableBytes
        switch state {
        case .idle:
            let now = self.now
            if pending == nil {
                pending = buffer
                armTimer(loop.configuration.headerTimeout, now: now)
            } else {
                pending!.writeBuffer(&buffer)
            }
            processPending(now: now)
        case .exchanging where !exchange.requestBody.isComplete:
            forwardRequestBody(&buffer)
            if buffer.readableBytes > 0 { hold(&buffer) }
        case .awaitingPolicy, .connecting, .exchanging:
            hold(&buffer)
        case .tunnel:
            exchange.lease?.handler.write(buffer)
            upstreamNeedsFlush = true
        case .closing:
            break
        }
    }

    private func readComplete() {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            exchange.lease?.handler.flush()
        }
        flushClient()
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientIsWritable = false
        cancelTimers()
        loop.unregister(self)
        if case .connection = placement { loop.metrics.activeConnections.decrement() }
        if state == .tunnel { loop.metrics.activeTunnels.decrement() }
        releaseSandboxCount()
        recordExchange(status: exchange.responseStatus == 0 ? 499 : exchange.responseStatus)
        loop.metrics.bytesFromClients.increment(by: Int64(bytesFromClient))
        detachLease(reusable: false)
        state = .closing
        pending = nil
    }

    /// The client sent FIN (or TLS close_notify) and will send nothing more; it may still read.
    /// A complete request in flight is answered, then the connection closes; a tunnel passes the
    /// FIN on to the sandbox and keeps delivering what the sandbox sends until it closes.
    private func clientInputClosed() {
        switch state {
        case .idle:
            // Nothing to answer (a partial head can never complete).
            closeNow()
        case .awaitingPolicy, .connecting, .exchanging:
            if exchange.requestBody.isComplete {
                // Pipelined requests behind this one are not answered once it closes.
                exchange.closeAfterResponse = true
            } else if exchange.responseHeadDone {
                // The body can never complete; the answer already started: cut it.
                flushClient()
                closeNow()
            } else {
                respondAndClose(ErrorResponse.badRequest("the connection was half-closed before the request body was complete"), html: false)
            }
        case .tunnel:
            exchange.lease?.handler.closeOutput()
        case .closing:
            break
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        clientIsWritable = context.channel.isWritable
        if clientIsWritable {
            sendStallTimer?.cancel()
            sendStallTimer = nil
            exchange.lease?.handler.resumeReads()
        } else if sendStallTimer == nil {
            // On HTTP/2 the stream's channel turns unwritable when its flow-control window is shut.
            sendStallTimer = context.eventLoop.assumeIsolated().scheduleTask(in: loop.configuration.sendTimeout) { [self] in
                sendStallTimer = nil
                loop.metrics.sendTimeouts.increment()
                closeNow()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A TCP close without close_notify is what many clients do when they are done: not a failure.
        if let tlsError = error as? TLSError, tlsError != .uncleanShutdown { loop.metrics.tlsFailures.increment() }
        context.close(promise: nil)
    }

    // MARK: - Backpressure

    func read(context: ChannelHandlerContext) {
        if shouldHoldClientReads {
            clientReadHeld = true
        } else {
            context.read()
        }
    }

    private var shouldHoldClientReads: Bool {
        switch state {
        case .idle: false
        case .awaitingPolicy, .connecting, .closing: true
        // A complete request leaves the socket readable: pausing and resuming read interest would
        // cost two epoll_ctl calls per request. Pipelined bytes are held up to a small limit instead.
        case .exchanging:
            exchange.requestBody.isComplete
                ? (pending?.readableBytes ?? 0) >= Self.pipelineReadAhead
                : !(exchange.lease?.handler.isWritable ?? false)
        case .tunnel: !(exchange.lease?.handler.isWritable ?? false)
        }
    }

    func resumeClientReads() {
        guard clientReadHeld, !shouldHoldClientReads else { return }
        clientReadHeld = false
        context?.read()
    }

    /// Keeps client bytes the proxy cannot pass on yet, up to ``maximumHeldBytes``.
    func hold(_ buffer: inout ByteBuffer) {
        if pending == nil {
            pending = buffer
        } else {
            pending!.writeBuffer(&buffer)
        }
        if pending!.readableBytes > Self.maximumHeldBytes { closeNow() }
    }

    // MARK: - Exchange lifecycle

    /// The exchange is over and the connection stays: its state goes, the keep-alive clock runs,
    /// and a pipelined request behind it starts (or reading resumes).
    func returnToIdle(now: NIODeadline) {
        loop.giveBack(fields: &exchange.head.fields)
        exchange = .none
        state = .idle
        armTimer(loop.configuration.keepAliveTimeout, now: now)
        if pending != nil {
            processPending(now: now)
        } else {
            resumeClientReads()
        }
    }

    /// Lets go of the exchange's upstream connection: back to the pool when it can carry another
    /// request, else closed.
    func detachLease(reusable: Bool) {
        guard let lease = exchange.lease else { return }
        exchange.lease = nil
        if reusable {
            loop.pool.release(lease)
        } else {
            lease.handler.owner = nil
            lease.handler.close()
        }
    }

    // MARK: - Writing to the client

    func writeToClient(_ buffer: ByteBuffer) {
        clientNeedsFlush = true
        if let tls {
            tls.writePlaintext(buffer)
        } else {
            context?.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    func flushClient() {
        guard clientNeedsFlush else { return }
        clientNeedsFlush = false
        if let tls {
            tls.flushPlaintext()
        } else {
            context?.flush()
        }
    }

    func closeNow() {
        state = .closing
        detachLease(reusable: false)
        context?.close(promise: nil)
    }

    // MARK: - Drain

    /// Called on this loop when the server drains.
    func drain() {
        switch state {
        case .idle where pending == nil:
            closeNow()
        case .tunnel:
            scheduleTunnelClose()
        case .idle, .awaitingPolicy, .connecting, .exchanging, .closing:
            exchange.closeAfterResponse = true
        }
    }

    func forceClose() {
        closeNow()
    }

    func scheduleTunnelClose() {
        guard drainTimer == nil, let context else { return }
        drainTimer = context.eventLoop.assumeIsolated().scheduleTask(in: loop.configuration.tunnelGracePeriod) { [self] in
            flushClient()
            closeNow()
        }
    }

    // MARK: - Timer

    func armTimer(_ amount: TimeAmount, now: NIODeadline? = nil) {
        armTimer(deadline: (now ?? self.now) + amount)
    }

    func armTimer(deadline: NIODeadline) {
        if case .schedule(let deadline) = timer.arm(until: deadline) { schedule(at: deadline) }
    }

    func disarmTimer() {
        timer.disarm()
    }

    private func schedule(at deadline: NIODeadline) {
        scheduledTimer?.cancel()
        guard let context else { return }
        scheduledTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            scheduledTimer = nil
            switch timer.fired(at: now) {
            case .none: break
            case .reschedule(let deadline): schedule(at: deadline)
            case .expired: timedOut()
            }
        }
    }

    private func cancelTimers() {
        scheduledTimer?.cancel()
        scheduledTimer = nil
        timer.cancelled()
        drainTimer?.cancel()
        drainTimer = nil
        sendStallTimer?.cancel()
        sendStallTimer = nil
    }

    /// The timed wait is over: what that means depends on what was awaited.
    private func timedOut() {
        switch state {
        case .idle:
            if let pending, pending.readableBytes > 0 {
                respondAndClose(ErrorResponse(status: 408, code: "request_timeout", message: "the request head did not arrive in time"), html: false)
            } else {
                closeNow()
            }
        case .exchanging where !exchange.requestBody.isComplete && exchange.bodyClock.isRunning:
            if clientReadHeld {
                // Not the client's fault: the proxy stopped reading because the sandbox is not
                // taking the body. The clock restarts once reading resumes... or the sandbox answers.
                startBodyClock(now: now)
            } else if exchange.responseHeadDone {
                // The answer is under way: it cannot become a 408 any more, only a cut.
                closeNow()
            } else {
                respondAndClose(ErrorResponse.requestBodyTimeout, html: false)
            }
        case .exchanging where !exchange.responseHeadDone:
            respondAndClose(upstreamError(ErrorResponse.upstreamTimeout), html: prefersHTML)
        case .exchanging, .awaitingPolicy, .connecting, .tunnel, .closing:
            // Nothing else is timed here: policy loads and connects have their own deadlines,
            // a streaming response and a tunnel run as long as their peers keep them open.
            break
        }
    }
}

extension ProxyConnectionHandler: TLSPlaintextReceiver {
    func tlsPlaintextRead(_ plaintext: ByteBuffer) {
        received(plaintext)
    }

    func tlsPlaintextReadComplete() {
        readComplete()
    }
}

@available(*, unavailable)
extension ProxyConnectionHandler: Sendable {}
