import NIOCore
import NIOHPACK
import NIOHTTP2

/// Turns the HTTP/1.1 response that ``ProxyConnectionHandler`` writes for one exchange (the
/// sandbox's response after every rule was applied, or one of the proxy's own) into the frames of
/// its HTTP/2 stream: the head becomes a HEADERS frame, the body's payload DATA frames, and the
/// end of the body (as its framing says: length, last chunk, or the handler closing) END_STREAM.
///
/// The body is not copied: each DATA frame is a slice of the buffer the handler wrote, with the
/// chunk framing left out. Interim responses (`100`, `103`) become HEADERS frames of their own.
///
/// For a WebSocket (RFC 8441) the sandbox's `101 Switching Protocols` becomes `200`, and what
/// follows are the tunnel's bytes, as DATA, until the handler closes. A sandbox that answers such
/// a request with another 2xx has not switched protocols: the stream is reset rather than let the
/// client believe it has a WebSocket.
struct HTTP2ResponseFramer {
    private enum State {
        /// Waiting for (the rest of) a response head.
        case head(ByteBuffer?)
        /// The final head is sent; the body streams.
        case body(BodyProgress)
        /// A WebSocket is open: every byte is the tunnel's.
        case tunnel
        /// END_STREAM is sent.
        case done
    }

    private var state = State.head(nil)
    private let requestWasHEAD: Bool
    private let requestIsWebSocket: Bool
    private var head = ResponseHead()

    init(requestWasHEAD: Bool, requestIsWebSocket: Bool = false) {
        self.requestWasHEAD = requestWasHEAD
        self.requestIsWebSocket = requestIsWebSocket
    }

    /// END_STREAM has been produced: the response is complete.
    var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Nothing of a final response has been produced yet (a reset loses no answer already begun).
    var hasNotStarted: Bool {
        if case .head = state { return true }
        return false
    }

    /// Appends the frames for `bytes`, the next bytes of the HTTP/1.1 response, to `frames`.
    mutating func frames(for bytes: ByteBuffer, into frames: inout [HTTP2Frame.FramePayload]) throws(HTTP2ResponseError) {
        let firstNew = frames.count
        var bytes = bytes
        while bytes.readableBytes > 0 {
            switch state {
            case .head(var partial):
                state = .done  // no copy-on-write of `partial` while it grows
                if partial == nil {
                    partial = bytes
                } else {
                    partial!.writeBuffer(&bytes)
                }
                bytes = ByteBuffer()
                try takeHead(from: &partial!, into: &frames)
                if case .head = state {
                    state = .head(partial)
                } else if partial!.readableBytes > 0 {
                    bytes = partial!
                }
            case .body(var progress):
                state = .done
                let start = bytes.readerIndex
                let source = bytes
                let taken: Int
                do {
                    // Each piece of body the framing finds becomes a DATA frame: a slice of the
                    // bytes read, no copy, and no list of pieces in between.
                    taken = try source.withUnsafeReadableBytes { raw throws(HTTPParseError) in
                        try progress.consume(raw) { piece in
                            let slice = source.getSlice(at: start + piece.lowerBound, length: piece.count)!
                            frames.append(.data(.init(data: .byteBuffer(slice), endStream: false)))
                        }
                    }
                } catch {
                    throw HTTP2ResponseError("the response body's framing is broken: \(error)")
                }
                bytes.moveReaderIndex(forwardBy: taken)
                if progress.isComplete {
                    endStream(&frames, firstNew: firstNew)
                    // Bytes past the end of the response have no stream to go to.
                    return
                }
                state = .body(progress)
            case .tunnel:
                frames.append(.data(.init(data: .byteBuffer(bytes), endStream: false)))
                return
            case .done:
                return
            }
        }
    }

    /// The handler closed the exchange. A body that runs until close ends here (END_STREAM);
    /// returns false when the response is incomplete, and the stream must be reset instead.
    mutating func finish(into frames: inout [HTTP2Frame.FramePayload]) -> Bool {
        switch state {
        case .done:
            return true
        case .body(let progress) where progress.isUntilClose:
            endStream(&frames, firstNew: frames.count)
            return true
        case .tunnel:
            endStream(&frames, firstNew: frames.count)
            return true
        case .head, .body:
            return false
        }
    }

    /// Sets END_STREAM on the last DATA frame made from the current bytes (those from `firstNew`
    /// on), or adds an empty one.
    private mutating func endStream(_ frames: inout [HTTP2Frame.FramePayload], firstNew: Int) {
        state = .done
        if frames.count > firstNew, case .data(var last) = frames.last {
            last.endStream = true
            frames[frames.count - 1] = .data(last)
        } else {
            frames.append(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
        }
    }

    /// Parses a complete head at the front of `buffer`, if there is one, and appends its HEADERS frame.
    private mutating func takeHead(from buffer: inout ByteBuffer, into frames: inout [HTTP2Frame.FramePayload]) throws(HTTP2ResponseError) {
        while true {
            let end: Int
            switch buffer.withUnsafeReadableBytes({ ASCII.headEnd($0) }) {
            case .incomplete:
                state = .head(nil)
                return
            case .bareLineFeed:
                throw HTTP2ResponseError("the response head has a bare line feed")
            case .complete(let headEnd):
                end = headEnd
            }
            var headers = HPACKHeaders()
            let requestWasHEAD = self.requestWasHEAD
            var parsed = head
            do {
                try buffer.withUnsafeReadableBytes { bytes throws(HTTPParseError) in
                    try parsed.parse(bytes, end: end, requestWasHEAD: requestWasHEAD)
                    Self.fields(of: parsed, in: bytes, into: &headers, switchingToWebSocket: parsed.status == 101)
                }
            } catch {
                throw HTTP2ResponseError("the response head is malformed: \(error)")
            }
            head = parsed
            buffer.moveReaderIndex(forwardBy: end)
            switch head.status {
            case 101 where requestIsWebSocket:
                frames.append(.headers(.init(headers: headers, endStream: false)))
                state = .tunnel
                return
            case 101:
                throw HTTP2ResponseError("a protocol switch cannot be relayed on an HTTP/2 stream")
            case 200..<300 where requestIsWebSocket:
                throw HTTP2ResponseError("the sandbox answered a WebSocket request with \(head.status), not a protocol switch")
            case 100..<200:
                // Interim: the final head follows.
                frames.append(.headers(.init(headers: headers, endStream: false)))
                continue
            default:
                if head.framing == .none {
                    frames.append(.headers(.init(headers: headers, endStream: true)))
                    state = .done
                } else {
                    frames.append(.headers(.init(headers: headers, endStream: false)))
                    state = .body(BodyProgress(head.framing))
                }
                return
            }
        }
    }

    /// The head's fields for HTTP/2: `:status` first, names in lower case, and none of the
    /// connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2).
    /// A WebSocket's `101` is `200` in HTTP/2 (RFC 8441 §5), without `Sec-WebSocket-Accept`, which
    /// answered the key Porthole made up, not one of the client's.
    private static func fields(
        of head: ResponseHead, in bytes: UnsafeRawBufferPointer, into headers: inout HPACKHeaders, switchingToWebSocket: Bool
    ) {
        headers.reserveCapacity(head.fields.count + 1)
        headers.add(name: ":status", value: switchingToWebSocket ? "200" : String(head.status))
        for field in head.fields where !field.listedInConnection {
            switch field.kind {
            case .connection, .keepAlive, .proxyConnection, .transferEncoding, .upgrade, .te:
                continue
            case .other where switchingToWebSocket && ASCII.equalsLowercase(bytes, field.name, "sec-websocket-accept"):
                continue
            default:
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.name]), as: UTF8.self).lowercased()
                let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self)
                headers.add(name: name, value: value)
            }
        }
    }
}

/// The response cannot be carried on the stream: a bug or a response HTTP/2 has no form for.
/// The stream is reset with INTERNAL_ERROR.
struct HTTP2ResponseError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
