import NIOCore
import NIOHPACK
import NIOHTTP2
import PortholeCore

/// Sits in each HTTP/2 stream's channel below a ``ProxyConnectionHandler`` and makes the stream
/// look like a connection that carries one HTTP/1.1 exchange: the request's HEADERS become the
/// request head (``HTTP2RequestHead``), its DATA frames the body (chunked when no length was
/// given), and the HTTP/1.1 response the handler writes becomes HEADERS and DATA frames
/// (``HTTP2ResponseFramer``). Everything else — routing, authorisation, token stripping, header
/// rules, compression, errors, limits, the access log — is the HTTP/1.1 code, unchanged.
///
/// Backpressure needs nothing of its own: the stream channel's writability follows the peer's
/// flow-control window, and reads the handler holds back are frames NIOHTTP2 does not consume,
/// so their window is not reopened.
final class HTTP2StreamCodec: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum RequestState {
        /// The stream was opened; its HEADERS are next.
        case awaitingHead
        /// The body streams with this framing.
        case body(HTTP2RequestHead.BodyFraming)
        /// END_STREAM arrived (or the request was refused).
        case complete
    }

    private var request = RequestState.awaitingHead
    /// How long a finished response may wait for the client's window to take its last frames.
    private let sendTimeout: TimeAmount
    /// Sent with the codec's own 400, as with every other answer of the proxy (`--frame-ancestors`).
    private let extraFields: String?
    private var response = HTTP2ResponseFramer(requestWasHEAD: false)
    private var frames: [HTTP2Frame.FramePayload] = []
    init(sendTimeout: TimeAmount, extraFields: String? = nil) {
        self.sendTimeout = sendTimeout
        self.extraFields = extraFields
    }

    /// The handler asked to close (once is enough).
    private var closeRequested = false
    /// Completes when the frame carrying the response's END_STREAM has been written.
    private var endStreamWritten: EventLoopFuture<Void>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            receivedHeaders(headers, context: context)
        case .data(let data):
            receivedData(data, context: context)
        default:
            // Window updates, priorities and resets are NIOHTTP2's business.
            break
        }
    }

    private func receivedHeaders(_ headers: HTTP2Frame.FramePayload.Headers, context: ChannelHandlerContext) {
        switch request {
        case .awaitingHead:
            var head = context.channel.allocator.buffer(capacity: 512)
            do {
                let summary = try HTTP2RequestHead.write(headers.headers, endStream: headers.endStream, into: &head)
                response = HTTP2ResponseFramer(requestWasHEAD: summary.isHEAD, requestIsWebSocket: summary.framing == .webSocket)
                request = headers.endStream ? .complete : .body(summary.framing)
                context.fireChannelRead(wrapInboundOut(head))
            } catch {
                request = .complete
                refuse(error, context: context)
            }
        case .body(.webSocket):
            reset(.protocolError, context: context)
        case .body(let framing):
            // Trailers end the body. HTTP/1.1 can carry them only in a chunked body.
            request = .complete
            guard headers.endStream else {
                reset(.protocolError, context: context)
                return
            }
            if framing == .chunked {
                var last = context.channel.allocator.buffer(capacity: 64)
                last.writeStaticString("0\r\n")
                for (name, value, _) in headers.headers {
                    guard name.utf8.first != UInt8(ascii: ":"), !HTTP2RequestHead.holdsForbiddenByte(value) else { continue }
                    last.writeString("\(name): \(value)\r\n")
                }
                last.writeStaticString("\r\n")
                context.fireChannelRead(wrapInboundOut(last))
            }
        case .complete:
            reset(.protocolError, context: context)
        }
    }

    private func receivedData(_ data: HTTP2Frame.FramePayload.Data, context: ChannelHandlerContext) {
        guard case .body(let framing) = request, case .byteBuffer(let payload) = data.data else {
            // DATA before HEADERS or after the end (NIOHTTP2 refuses both first), or a file region.
            return
        }
        if data.endStream { request = .complete }
        switch framing {
        case .none, .contentLength:
            if payload.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(payload)) }
        case .webSocket:
            if payload.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(payload)) }
            // The client closed its side of the tunnel: the handler passes the FIN on.
            if data.endStream { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        case .chunked:
            if payload.readableBytes > 0 {
                var size = context.channel.allocator.buffer(capacity: 18)
                size.writeString(String(payload.readableBytes, radix: 16))
                size.writeStaticString("\r\n")
                context.fireChannelRead(wrapInboundOut(size))
                context.fireChannelRead(wrapInboundOut(payload))
                var end = context.channel.allocator.buffer(capacity: 7)
                end.writeStaticString(data.endStream ? "\r\n0\r\n\r\n" : "\r\n")
                context.fireChannelRead(wrapInboundOut(end))
            } else if data.endStream {
                var end = context.channel.allocator.buffer(capacity: 5)
                end.writeStaticString("0\r\n\r\n")
                context.fireChannelRead(wrapInboundOut(end))
            }
        }
    }

    /// A malformed request (RFC 9113 §8.1.1) is answered with a 400 that says why, as an
    /// HTTP/1.1 request would be, and never reaches the handler.
    private func refuse(_ error: HTTP2RequestError, context: ChannelHandlerContext) {
        let answer = OwnResponse.error(
            ErrorResponse.badRequest(error.description), html: false, close: true, withBody: true, extraFields: extraFields,
            allocator: context.channel.allocator
        )
        writeResponse(answer, context: context, promise: nil)
        context.flush()
        close(context: context, mode: .all, promise: nil)
    }

    // MARK: - Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        writeResponse(unwrapOutboundIn(data), context: context, promise: promise)
    }

    /// The next bytes of the HTTP/1.1 response, as frames.
    private func writeResponse(_ bytes: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        do {
            try response.frames(for: bytes, into: &frames)
        } catch {
            promise?.fail(error)
            reset(.internalError, context: context)
            return
        }
        writeFrames(context: context, promise: promise)
    }

    private func writeFrames(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard !frames.isEmpty else {
            promise?.succeed(())
            return
        }
        var promise = promise
        if response.isDone && endStreamWritten == nil {
            // The last frame carries END_STREAM: a close waits for it (see `close`).
            let written = context.eventLoop.makePromise(of: Void.self)
            if let promise { written.futureResult.cascade(to: promise) }
            endStreamWritten = written.futureResult
            promise = written
        }
        let last = frames.count - 1
        for index in 0..<last {
            context.write(wrapOutboundOut(frames[index]), promise: nil)
        }
        context.write(wrapOutboundOut(frames[last]), promise: promise)
        frames.removeAll(keepingCapacity: true)
    }

    /// The handler is done with the exchange. A complete response closes the stream by itself once
    /// its END_STREAM is written (and the request's has arrived); the close waits for that write,
    /// so that what is queued behind flow control is not thrown away by a reset. An incomplete
    /// response is cut with RST_STREAM.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard !closeRequested else {
            promise?.succeed(())
            return
        }
        closeRequested = true
        guard response.finish(into: &frames) else {
            context.close(mode: mode, promise: promise)
            return
        }
        writeFrames(context: context, promise: nil)
        context.flush()
        promise?.succeed(())
        guard let endStreamWritten else {
            context.close(mode: mode, promise: nil)
            return
        }
        // A client whose window stays shut never takes the last frames: reset the stream then.
        let giveUp = context.eventLoop.assumeIsolated().scheduleTask(in: sendTimeout) {
            context.close(mode: mode, promise: nil)
        }
        endStreamWritten.assumeIsolated().whenComplete { _ in
            giveUp.cancel()
            // Closed already when both ends of the stream were done; a client still sending its
            // body is stopped here (RST_STREAM), as RFC 9113 §8.1 allows once the answer is complete.
            context.close(mode: mode, promise: nil)
        }
    }

    private func reset(_ code: HTTP2ErrorCode, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(.rstStream(code)), promise: nil)
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A stream has no half-closed connection for the handler to see: END_STREAM is the end of
        // the request body, which the framing already says.
        if case ChannelEvent.inputClosed = event { return }
        context.fireUserInboundEventTriggered(event)
    }
}

@available(*, unavailable)
extension HTTP2StreamCodec: Sendable {}
