public import NIOCore
public import PortholeNIOUtilities

/// Terminates TLS on an accepted connection: ciphertext below, plaintext above.
///
/// Put it first in the child pipeline (after a PROXY protocol decoder, if any):
/// ```swift
/// let tls = try TLSServerHandler(context: store.context, allocator: channel.allocator)
/// try channel.pipeline.syncOperations.addHandler(tls)
/// ```
/// Like every NIO handler it relies on each `channelRead` being followed by `channelReadComplete`
/// (a decoder in front of it that fires leftover bytes when removed must fire both).
/// It fires ``TLSHandshakeCompleted`` once the handshake is done, then passes decrypted
/// `ByteBuffer`s up: everything decrypted in one read cycle as one buffer, in `channelReadComplete`.
/// Ciphertext produced while reading (handshake flights, responses written in reaction to a read) goes
/// to the socket as one write and one flush at the end of the read cycle.
///
/// Errors are fired through the pipeline as ``TLSError``s: `.handshakeFailed`, `.handshakeTimeout`,
/// `.protocolFailure`, and `.uncleanShutdown` when the peer closed TCP without close_notify (common
/// between HTTP requests; decide above whether it matters).
public final class TLSServerHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum State {
        /// Added to a channel that is not active yet; the handshake starts on channelActive.
        case idle
        /// Exchanging handshake messages; application writes wait in `bufferedWrites`.
        case handshaking(timeout: Scheduled<Void>)
        /// Handshake complete; application data flows both ways.
        case active
        /// The peer sent close_notify and the channel allows half-closure; we may still write.
        case inputClosed
        /// We sent close_notify for `close(mode: .output)`; the peer may still send to us.
        case outputClosed
        /// We sent close_notify and wait, at most the shutdown timeout, for the peer's close_notify or EOF.
        case closing(timeout: Scheduled<Void>)
        /// Closed or failed; nothing more is encrypted or decrypted.
        case closed
    }

    /// Plaintext beyond this is passed up before the read cycle ends, bounding memory per connection.
    private static let maximumHeldPlaintext = 256 * 1024

    private let configuration: TLSConfiguration
    private let connection: TLSConnection
    private var state: State = .idle

    /// Writes made before the handshake completed, replayed in order once it has.
    private var bufferedWrites: [(data: ByteBuffer, promise: EventLoopPromise<Void>?)] = []
    /// Promises of encrypted writes not yet handed to the channel; completed by the next ciphertext write.
    private var writePromises: [EventLoopPromise<Void>] = []
    /// Plaintext decrypted during this read cycle, passed up in channelReadComplete.
    private var plaintext: ByteBuffer?
    /// Whether any plaintext went up during this read cycle (if not, and autoRead is off, we ask for more).
    private var deliveredThisReadCycle = false
    /// True while channelReadComplete passes plaintext up; flushes then are merged into one at its end.
    private var deliveringReads = false
    /// The promise of the `close()` waiting for the peer's close_notify.
    private var closePromise: EventLoopPromise<Void>?
    private var context: ChannelHandlerContext?
    /// When set, plaintext goes to it directly instead of through the pipeline (see ``TLSPlaintextReceiver``).
    public var receiver: (any TLSPlaintextReceiver)?

    /// - Parameters:
    ///   - context: certificates and settings; take it from ``TLSCertificateStore/context`` per connection.
    ///   - allocator: allocates the plaintext and ciphertext buffers; the channel's allocator is the default.
    ///   - writeBuffer: the event loop's shared ciphertext buffer (one per loop, used only there);
    ///     without one, each flush allocates its own.
    public init(context: TLSContext, allocator: ByteBufferAllocator = ByteBufferAllocator(), writeBuffer: ReusableBuffer? = nil) throws {
        self.configuration = context.configuration
        self.connection = try TLSConnection(context: context, allocator: allocator, writeBuffer: writeBuffer)
    }

    /// A handler for a new connection, on the store's current certificates.
    public convenience init(store: TLSCertificateStore, allocator: ByteBufferAllocator = ByteBufferAllocator(), writeBuffer: ReusableBuffer? = nil) throws {
        try self.init(context: store.context, allocator: allocator, writeBuffer: writeBuffer)
    }

    // MARK: - Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            self.startHandshake(context: context)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        switch self.state {
        case .handshaking(let timeout), .closing(let timeout):
            timeout.cancel()
        case .idle, .active, .inputClosed, .outputClosed, .closed:
            break
        }
        self.state = .closed
        self.failPendingWrites(ChannelError.ioOnClosedChannel)
        self.closePromise?.fail(ChannelError.ioOnClosedChannel)
        self.closePromise = nil
        self.connection.releaseOutbound()
        // Both hold each other while in the pipeline; whichever leaves first breaks the cycle.
        self.receiver = nil
        self.context = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        self.startHandshake(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        // Authenticated plaintext still held for this read cycle goes up before the connection ends.
        if self.plaintext?.readableBytes ?? 0 > 0 {
            self.deliverPlaintext(context: context)
            self.fireReadComplete(context: context)
        }
        switch self.state {
        case .handshaking(let timeout):
            timeout.cancel()
            context.fireErrorCaught(TLSError.handshakeFailed("connection closed during the handshake"))
        case .active, .outputClosed:
            context.fireErrorCaught(TLSError.uncleanShutdown)
        case .closing(let timeout):
            // The peer closed in answer to our close_notify: the close we were waiting to do is done.
            timeout.cancel()
            self.closePromise?.succeed()
            self.closePromise = nil
        case .idle, .inputClosed, .closed:
            break
        }
        self.state = .closed
        self.plaintext = nil
        self.failPendingWrites(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    private func startHandshake(context: ChannelHandlerContext) {
        guard case .idle = self.state else { return }
        let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: self.configuration.handshakeTimeout) {
            self.handshakeTimedOut(context: context)
        }
        self.state = .handshaking(timeout: timeout)
    }

    private func handshakeTimedOut(context: ChannelHandlerContext) {
        guard case .handshaking = self.state else { return }
        self.state = .closed
        self.failPendingWrites(TLSError.handshakeTimeout)
        context.fireErrorCaught(
            TLSError.handshakeTimeout("no handshake within \(self.configuration.handshakeTimeout)")
        )
        context.close(promise: nil)
    }

    // MARK: - Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ciphertext = Self.unwrapInboundIn(data)
        self.connection.receive(ciphertext)
        // Let NIO have its receive buffer back as soon as OpenSSL has what it wanted from it.
        defer { self.connection.releaseInbound() }

        switch self.state {
        case .idle:
            // Data before channelActive cannot happen with NIO sockets; be tolerant anyway.
            self.startHandshake(context: context)
            self.handshakeStep(context: context, ciphertextBytes: ciphertext.readableBytes)
        case .handshaking:
            self.handshakeStep(context: context, ciphertextBytes: ciphertext.readableBytes)
        case .active, .outputClosed:
            self.decode(context: context, ciphertextBytes: ciphertext.readableBytes)
        case .closing:
            self.awaitCloseNotify(context: context)
        case .inputClosed, .closed:
            break
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        self.deliveringReads = true
        self.deliverPlaintext(context: context)
        self.fireReadComplete(context: context)
        self.deliveringReads = false

        // One socket write for everything this read cycle produced: handshake flights, alerts,
        // session tickets, and the responses handlers above wrote and flushed while reading.
        self.flushCiphertext(context: context)

        if !self.deliveredThisReadCycle {
            self.readAgainIfAutoReadIsOff(context: context)
        }
        self.deliveredThisReadCycle = false
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // TCP EOF from the peer (only seen with allowRemoteHalfClosure).
        switch self.state {
        case .handshaking(let timeout):
            timeout.cancel()
            self.state = .closed
            self.failPendingWrites(ChannelError.eof)
            context.fireErrorCaught(TLSError.handshakeFailed("connection closed during the handshake"))
            context.close(promise: nil)
        case .active, .outputClosed:
            // EOF without close_notify: a truncation attack cannot be told apart from a sloppy
            // client (RFC 8446 §6.1), so report it; then close as usual.
            // Still say close_notify, but wait for no reply: after EOF none can come.
            _ = self.connection.shutdown()
            self.flushCiphertext(context: context)
            self.state = .closed
            self.deliverPlaintext(context: context)
            context.fireErrorCaught(TLSError.uncleanShutdown)
            context.close(promise: nil)
        case .closing:
            self.finishClosing(context: context)
        case .idle, .inputClosed, .closed:
            // With .inputClosed the peer's close_notify already produced our inputClosed event.
            break
        }
    }

    private func handshakeStep(context: ChannelHandlerContext, ciphertextBytes: Int) {
        switch self.connection.handshake() {
        case .incomplete:
            break  // our flight, if any, goes out in channelReadComplete
        case .complete:
            self.completeHandshake(context: context)
            // A TLS 1.3 client may send its request in the same packet as its Finished.
            if case .active = self.state {
                self.decode(context: context, ciphertextBytes: ciphertextBytes)
            }
        case .failed(let error):
            self.fail(context: context, error: error)
        }
    }

    private func completeHandshake(context: ChannelHandlerContext) {
        guard case .handshaking(let timeout) = self.state else { return }
        timeout.cancel()
        self.state = .active

        // Writes made during the handshake go first, before anything written in reaction to the event.
        let writes = self.bufferedWrites
        self.bufferedWrites = []
        for write in writes {
            self.encrypt(context: context, write.data, promise: write.promise)
        }
        context.fireUserInboundEventTriggered(
            TLSHandshakeCompleted(
                negotiatedProtocol: self.connection.negotiatedProtocol,
                serverName: self.connection.serverName
            )
        )
    }

    private func decode(context: ChannelHandlerContext, ciphertextBytes: Int) {
        if self.plaintext == nil {
            // Plaintext is never larger than the ciphertext it came from (no compression), plus at most
            // one partial record OpenSSL kept from an earlier read.
            self.plaintext = context.channel.allocator.buffer(capacity: max(ciphertextBytes, 2048))
        }
        let result = self.connection.read(into: &self.plaintext!)
        switch result {
        case .wantRead:
            if self.plaintext!.readableBytes >= Self.maximumHeldPlaintext {
                self.deliverPlaintext(context: context)
            }
        case .closeNotify:
            self.deliverPlaintext(context: context)
            self.peerSentCloseNotify(context: context)
        case .failed(let error):
            // Records before the bad one were authenticated; pass them on, then fail.
            self.deliverPlaintext(context: context)
            self.fail(context: context, error: error)
        }
    }

    private func deliverPlaintext(context: ChannelHandlerContext) {
        guard let plaintext = self.plaintext else { return }
        self.plaintext = nil
        guard plaintext.readableBytes > 0 else { return }
        self.deliveredThisReadCycle = true
        if let receiver = self.receiver {
            receiver.tlsPlaintextRead(plaintext)
        } else {
            context.fireChannelRead(Self.wrapInboundOut(plaintext))
        }
    }

    private func fireReadComplete(context: ChannelHandlerContext) {
        if let receiver = self.receiver {
            receiver.tlsPlaintextReadComplete()
        } else {
            context.fireChannelReadComplete()
        }
    }

    private func peerSentCloseNotify(context: ChannelHandlerContext) {
        switch self.state {
        case .active:
            let allowsHalfClosure =
                (try? context.channel.syncOptions?.getOption(ChannelOptions.allowRemoteHalfClosure)) ?? false
            if allowsHalfClosure {
                self.state = .inputClosed
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            } else {
                // Answer with our close_notify (RFC 8446 §6.1) and close; nothing is waited for.
                _ = self.connection.shutdown()
                self.flushCiphertext(context: context)
                self.state = .closed
                context.close(promise: nil)
            }
        case .outputClosed:
            self.state = .closed
            context.close(promise: nil)
        case .closing:
            self.finishClosing(context: context)
        case .idle, .handshaking, .inputClosed, .closed:
            break
        }
    }

    private func awaitCloseNotify(context: ChannelHandlerContext) {
        switch self.connection.discardUntilCloseNotify() {
        case .wantRead:
            break
        case .closeNotify, .failed:
            self.finishClosing(context: context)
        }
    }

    private func readAgainIfAutoReadIsOff(context: ChannelHandlerContext) {
        switch self.state {
        case .handshaking, .active, .outputClosed, .closing:
            // Nobody above got data, so nobody above will call read(): without this a connection with
            // autoRead off stalls mid-handshake or mid-record.
            let autoRead = (try? context.channel.syncOptions?.getOption(ChannelOptions.autoRead)) ?? true
            if !autoRead { context.read() }
        case .idle, .inputClosed, .closed:
            break
        }
    }

    // MARK: - Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.write(context: context, plaintext: Self.unwrapOutboundIn(data), promise: promise)
    }

    /// `write` for the ``receiver``, which calls in directly rather than through the pipeline.
    public func writePlaintext(_ plaintext: ByteBuffer) {
        guard let context = self.context else { return }
        self.write(context: context, plaintext: plaintext, promise: nil)
    }

    /// `flush` for the ``receiver``.
    public func flushPlaintext() {
        guard let context = self.context else { return }
        self.flush(context: context)
    }

    private func write(context: ChannelHandlerContext, plaintext: ByteBuffer, promise: EventLoopPromise<Void>?) {
        switch self.state {
        case .idle, .handshaking:
            self.bufferedWrites.append((plaintext, promise))
        case .active, .inputClosed:
            self.encrypt(context: context, plaintext, promise: promise)
        case .outputClosed, .closing:
            promise?.fail(ChannelError.outputClosed)
        case .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        switch self.state {
        case .idle, .handshaking:
            // Buffered writes are encrypted when the handshake completes and leave with its last flight.
            break
        case .active, .inputClosed, .outputClosed, .closing:
            if !self.deliveringReads {
                self.flushCiphertext(context: context)
            }  // else: channelReadComplete flushes once for the whole read cycle
        case .closed:
            break
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        switch mode {
        case .all:
            self.closeAll(context: context, promise: promise)
        case .output:
            self.closeOutput(context: context, promise: promise)
        case .input:
            context.close(mode: .input, promise: promise)
        }
    }

    private func encrypt(context: ChannelHandlerContext, _ plaintext: ByteBuffer, promise: EventLoopPromise<Void>?) {
        if let error = self.connection.write(plaintext) {
            promise?.fail(error)
            self.fail(context: context, error: error)
            return
        }
        if let promise { self.writePromises.append(promise) }
    }

    /// Writes all pending ciphertext as one buffer and flushes it.
    private func flushCiphertext(context: ChannelHandlerContext) {
        guard let ciphertext = self.connection.takeOutbound() else {
            // Only zero-length writes can be pending without ciphertext: they are done.
            if !self.writePromises.isEmpty {
                let promises = self.writePromises
                self.writePromises.removeAll(keepingCapacity: true)
                for promise in promises { promise.succeed() }
            }
            return
        }
        // One pipeline step for both (the head handler writes, then flushes).
        context.writeAndFlush(Self.wrapOutboundOut(ciphertext), promise: self.takeWritePromise(context: context))
    }

    /// One promise for the ciphertext write that completes every plaintext write it carries.
    private func takeWritePromise(context: ChannelHandlerContext) -> EventLoopPromise<Void>? {
        switch self.writePromises.count {
        case 0:
            return nil
        case 1:
            let promise = self.writePromises[0]
            self.writePromises.removeAll(keepingCapacity: true)
            return promise
        default:
            let promises = self.writePromises
            self.writePromises.removeAll(keepingCapacity: true)
            let combined = context.eventLoop.makePromise(of: Void.self)
            combined.futureResult.whenComplete { result in
                for promise in promises { promise.completeWith(result) }
            }
            return combined
        }
    }

    private func failPendingWrites(_ error: any Error) {
        let buffered = self.bufferedWrites
        let promises = self.writePromises
        self.bufferedWrites = []
        self.writePromises = []
        for write in buffered { write.promise?.fail(error) }
        for promise in promises { promise.fail(error) }
    }

    // MARK: - Closing

    private func closeAll(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch self.state {
        case .idle:
            self.state = .closed
            context.close(promise: promise)
        case .handshaking(let timeout):
            // Nothing to protect yet, so no close_notify: just drop the connection.
            timeout.cancel()
            self.state = .closed
            self.failPendingWrites(ChannelError.ioOnClosedChannel)
            context.close(promise: promise)
        case .active, .outputClosed:
            let peerAlreadyClosed = self.connection.shutdown()
            self.flushCiphertext(context: context)
            if peerAlreadyClosed {
                self.state = .closed
                context.close(promise: promise)
                return
            }
            // Waiting for the peer's close_notify tells it we did not truncate, and lets it finish
            // reading before the RST a close with unread data would cause; but never for long.
            let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: self.configuration.shutdownTimeout) {
                self.finishClosing(context: context)
            }
            self.state = .closing(timeout: timeout)
            self.closePromise = promise
            self.readAgainIfAutoReadIsOff(context: context)
        case .inputClosed:
            _ = self.connection.shutdown()
            self.flushCiphertext(context: context)
            self.state = .closed
            context.close(promise: promise)
        case .closing:
            guard let promise else { return }
            if let closePromise = self.closePromise {
                closePromise.futureResult.cascade(to: promise)
            } else {
                self.closePromise = promise
            }
        case .closed:
            context.close(promise: promise)
        }
    }

    private func closeOutput(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch self.state {
        case .active:
            _ = self.connection.shutdown()
            self.flushCiphertext(context: context)
            self.state = .outputClosed
            context.close(mode: .output, promise: promise)
        case .idle, .handshaking, .inputClosed:
            // No half-close mid-handshake, and with input already closed it means closing everything.
            self.closeAll(context: context, promise: promise)
        case .outputClosed, .closing, .closed:
            context.close(mode: .output, promise: promise)
        }
    }

    private func finishClosing(context: ChannelHandlerContext) {
        guard case .closing(let timeout) = self.state else { return }
        timeout.cancel()
        self.state = .closed
        let promise = self.closePromise
        self.closePromise = nil
        context.close(promise: promise)
    }

    /// A fatal TLS error: send the alert OpenSSL queued, report, close.
    private func fail(context: ChannelHandlerContext, error: TLSError) {
        switch self.state {
        case .handshaking(let timeout), .closing(let timeout):
            timeout.cancel()
        case .idle, .active, .inputClosed, .outputClosed, .closed:
            break
        }
        self.flushCiphertext(context: context)
        self.state = .closed
        self.failPendingWrites(error)
        context.fireErrorCaught(error)
        context.close(promise: self.closePromise)
        self.closePromise = nil
    }
}

@available(*, unavailable)
extension TLSServerHandler: Sendable {}
