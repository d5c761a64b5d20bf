public import NIOCore

/// Reads the PROXY protocol v1 or v2 header a load balancer sends before the client's bytes, and
/// tells the rest of the pipeline who the client is. Strict: a connection that does not start with
/// a valid header, or whose header is not complete within the header timeout, is closed and none of
/// its bytes go further.
///
/// Put it first in the child pipeline, before TLS:
/// ```swift
/// try channel.pipeline.syncOperations.addHandler(ProxyProtocolDecoder())
/// try channel.pipeline.syncOperations.addHandler(TLSServerHandler(context: certificates.context, allocator: channel.allocator))
/// try channel.pipeline.syncOperations.addHandler(ProxyConnectionHandler(loop: loop, role: role))
/// ```
/// Once the header is complete it fires a ``ProxyProtocolHeader`` as a user inbound event, then the
/// bytes that came after the header in the same read (typically the TLS ClientHello) as a slice of
/// the buffer they arrived in, then removes itself: after the header the connection costs nothing.
/// The read that completed the header ends, as every read does, with `channelReadComplete`, which
/// then reaches the handler after this one directly.
///
/// On a refusal it fires a ``ProxyProtocolError`` through the pipeline before closing the
/// connection, so a handler further in can log or count it. A peer that closes before sending a
/// header is not an error: balancers and port scanners do it all the time.
public final class ProxyProtocolDecoder: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private enum State {
        /// Waiting for the header; what has arrived of it over several reads is in `received`.
        case awaitingHeader
        /// The header is decoded and passed on; the handler is leaving the pipeline.
        case passedOn
        /// The header was refused, late or never came; the connection is closing and its bytes are dropped.
        case refused
    }

    /// Balancers send the header at once with the connection, so a few seconds only ever cut off
    /// peers that are not balancers, or stalled ones holding a connection open.
    public static let defaultHeaderTimeout: TimeAmount = .seconds(5)
    /// Addresses and TLVs of a v2 header. The largest address block (AF_UNIX) is 216 bytes; the TLVs
    /// balancers add (AWS VPC endpoint ID, SSL details, authority, unique ID) fit with room to spare.
    /// The field allows 65 535, and a peer must not make us buffer that much before refusing it.
    public static let defaultMaximumV2Length = 2048

    private let headerTimeout: TimeAmount
    private let maximumV2Length: Int
    private var state: State = .awaitingHeader
    /// Header bytes from earlier reads, when the header arrived in pieces.
    private var received: ByteBuffer?
    private var timeout: Scheduled<Void>?

    /// - Parameters:
    ///   - headerTimeout: how long after the connection is established the whole header may take.
    ///   - maximumV2Length: the largest v2 address-and-TLV length accepted (0…65 535).
    public init(headerTimeout: TimeAmount = defaultHeaderTimeout, maximumV2Length: Int = defaultMaximumV2Length) {
        precondition((0...65_535).contains(maximumV2Length), "a v2 header length is a 16-bit field, got \(maximumV2Length)")
        self.headerTimeout = headerTimeout
        self.maximumV2Length = maximumV2Length
    }

    // MARK: - Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armTimeout(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        received = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        armTimeout(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        received = nil
        if case .awaitingHeader = state { state = .refused }
        context.fireChannelInactive()
    }

    private func armTimeout(context: ChannelHandlerContext) {
        guard timeout == nil, case .awaitingHeader = state else { return }
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: headerTimeout) {
            self.timeout = nil
            guard case .awaitingHeader = self.state else { return }
            self.refuse(context: context, error: .timeout)
        }
    }

    // MARK: - Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .awaitingHeader:
            break
        case .passedOn:
            // Only reachable if removal were ever deferred: the bytes belong to the handlers after us.
            context.fireChannelRead(data)
            return
        case .refused:
            return
        }

        var buffer = Self.unwrapInboundIn(data)
        if var earlier = received {
            // Only a header split across reads is copied, and only its first pieces.
            received = nil
            earlier.writeBuffer(&buffer)
            buffer = earlier
        }
        let outcome: ProxyProtocolParser.Outcome
        do {
            outcome = try ProxyProtocolParser.parse(buffer, maximumV2Length: maximumV2Length)
        } catch {
            refuse(context: context, error: error)
            return
        }
        switch outcome {
        case .needMoreBytes:
            received = buffer
        case .header(let addresses, let length):
            buffer.moveReaderIndex(forwardBy: length)
            passOn(context: context, header: header(addresses, channel: context.channel), rest: buffer)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        switch state {
        case .awaitingHeader:
            // Nothing went up during this read, so nothing above will ask for more: with autoRead off
            // the connection would wait for a header it never reads.
            let autoRead = (try? context.channel.syncOptions?.getOption(ChannelOptions.autoRead)) ?? true
            if !autoRead { context.read() }
        case .passedOn:
            context.fireChannelReadComplete()
        case .refused:
            break
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The peer half-closed (only seen with allowRemoteHalfClosure) before its header was complete.
        if case .awaitingHeader = state, let event = event as? ChannelEvent, event == .inputClosed {
            state = .refused
            received = nil
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: - Outcomes

    private func header(_ addresses: ProxyProtocolParser.Addresses, channel: any Channel) -> ProxyProtocolHeader {
        switch addresses {
        case .connectionEndpoints:
            ProxyProtocolHeader(source: channel.remoteAddress, destination: channel.localAddress)
        case .none:
            ProxyProtocolHeader(source: nil, destination: nil)
        case .ip(let source, let destination):
            ProxyProtocolHeader(source: source, destination: destination)
        }
    }

    private func passOn(context: ChannelHandlerContext, header: ProxyProtocolHeader, rest: ByteBuffer) {
        state = .passedOn
        timeout?.cancel()
        timeout = nil
        // The address first: whoever reads the bytes must already know whose they are.
        context.fireUserInboundEventTriggered(header)
        // A handler may have closed the connection in answer to the header (an address it refuses).
        if rest.readableBytes > 0, context.channel.isActive {
            context.fireChannelRead(Self.wrapInboundOut(rest))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func refuse(context: ChannelHandlerContext, error: ProxyProtocolError) {
        state = .refused
        received = nil
        timeout?.cancel()
        timeout = nil
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ProxyProtocolDecoder: Sendable {}
