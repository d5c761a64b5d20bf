import NIOCore
import PortholeCore

/// The sandbox's side of an exchange: its response relayed to the client, its close, and the end
/// of the exchange. Called by ``UpstreamHandler`` on this event loop.
extension ProxyConnectionHandler {
    func upstreamRead(_ buffer: ByteBuffer) {
        switch state {
        case .tunnel:
            exchange.bytesToClient &+= buffer.readableBytes
            writeToClient(buffer)
        case .exchanging:
            exchange.mayRetry = false
            handleResponseBytes(buffer)
        case .idle, .awaitingPolicy, .connecting, .closing:
            // Bytes nobody asked for: this connection cannot be trusted with a request.
            exchange.lease?.handler.close()
        }
    }

    func upstreamReadComplete() {
        flushClient()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable { resumeClientReads() }
    }

    func upstreamClosed() {
        let closedLease = exchange.lease
        exchange.lease = nil
        switch state {
        case .tunnel:
            flushClient()
            closeNow()
        case .exchanging:
            if exchange.responseHeadDone && exchange.responseBody.isUntilClose {
                // A body delimited by close has ended; the client was told `Connection: close`.
                exchange.closeAfterResponse = true
                if let deflater = exchange.compression, !endCompressedBody(deflater) { return }
                finishExchange(upstreamReusable: false, now: now)
            } else if !exchange.responseHeadDone, exchange.mayRetry, let closedLease, exchange.upstreamHeadPartial == nil {
                exchange.mayRetry = false
                loop.metrics.upstreamRetries.increment()
                // A fresh connection: the pool's other idle ones may have died the same way.
                connectAndSend(closedLease.key)
            } else if !exchange.responseHeadDone {
                respondAndClose(upstreamError(ErrorResponse.upstreamFailed), html: prefersHTML)
            } else {
                // The response was cut short: the client must see a broken message, not a complete one.
                flushClient()
                closeNow()
            }
        case .idle, .awaitingPolicy, .connecting, .closing:
            break
        }
    }

    /// Response bytes from the sandbox, as they come. In order:
    /// 1. Until the final head is complete, bytes collect in `upstreamHeadPartial` (bounded by
    ///    ``maximumResponseHeadBytes``); a broken or oversized head is a 502 for the client.
    /// 2. Each head is parsed into the loop's shared ``ResponseHead``. `101` after an upgrade
    ///    request turns both connections into a tunnel; other `1xx` heads are relayed as they come
    ///    and the loop goes on with the bytes after them.
    /// 3. The final head goes out as it came (a slice of the read) unless it needs a rewrite
    ///    (``ResponseHeadWriter``: the status line's version, hop-by-hop fields, `Connection:
    ///    close` towards a closing client).
    /// 4. The body is followed by its framing (``BodyProgress``) without being copied: slices of
    ///    the read go to the client. The head and the first body bytes leave in one write, so a
    ///    small response is one TLS record.
    /// 5. Bytes past the end of the response mark the upstream as misbehaving: it is not reused.
    private func handleResponseBytes(_ input: ByteBuffer) {
        var buffer = input
        /// The final response head, held back so the first body bytes can leave in the same write.
        var finalHead: ByteBuffer? = nil
        var finalHeadIsSlice = false
        var headCompletedAt: NIODeadline? = nil
        while !exchange.responseHeadDone {
            if var partial = exchange.upstreamHeadPartial {
                partial.writeBuffer(&buffer)
                buffer = partial
                exchange.upstreamHeadPartial = nil
            }
            let end: Int
            switch buffer.withUnsafeReadableBytes({ ASCII.headEnd($0) }) {
            case .complete(let headEnd) where headEnd > Self.maximumResponseHeadBytes:
                // The limit holds however the head arrives, in one read or many.
                failUpstream()
                return
            case .complete(let headEnd):
                end = headEnd
            case .bareLineFeed:
                failUpstream()
                return
            case .incomplete:
                if buffer.readableBytes > Self.maximumResponseHeadBytes {
                    failUpstream()
                } else if buffer.readableBytes > 0 {
                    exchange.upstreamHeadPartial = buffer
                }
                return
            }
            // Parsed into the loop's one ResponseHead (its field storage reused by every connection),
            // moved out and back so it is not shared while it is written.
            var response = loop.responseHead
            loop.responseHead = ResponseHead()
            defer { loop.responseHead = response }
            do {
                let wasHEAD = exchange.head.isHEAD
                try buffer.withUnsafeReadableBytes { try response.parse($0, end: end, requestWasHEAD: wasHEAD) }
            } catch {
                failUpstream()
                return
            }
            if response.status == 101 {
                openTunnel(buffer, upgradeRequested: exchange.head.isUpgrade)
                return
            }
            if response.status < 200 {
                // 1xx interim responses (100 Continue, 103 Early Hints) are relayed as they come.
                exchange.bytesToClient &+= end
                writeToClient(buffer.readSlice(length: end)!)
                // After `100 Continue` the body is the client's to send.
                if response.status == 100 && !exchange.requestBody.isComplete && !exchange.bodyClock.isRunning {
                    startBodyClock(now: now)
                }
                continue
            }
            exchange.responseHeadDone = true
            exchange.responseStatus = response.status
            exchange.upstreamWillClose = response.upstreamCloses
            let completedAt = now
            headCompletedAt = completedAt
            loop.exchanges.countUpstreamResponse(durationNanoseconds: (completedAt - exchange.upstreamSentAt).nanoseconds)
            // A body still streaming in keeps its clock; otherwise nothing is timed while the response streams.
            if exchange.requestBody.isComplete || !exchange.bodyClock.isRunning { disarmTimer() }
            if response.framing == .untilClose || exchange.head.version == .http10 { exchange.closeAfterResponse = true }
            let closingClient = exchange.closeAfterResponse
            exchange.compression = compressor(for: response, in: buffer)
            let compressing = exchange.compression?.coding
            let localOrigins = response.mayHoldLocalOrigins && exchange.policy?.hostRewrite == true ? localOriginRewrite() : nil
            let extraFields = loop.configuration.frameAncestors?.fieldLine
            if compressing != nil || localOrigins != nil || extraFields != nil || ResponseHeadWriter.needsRewrite(response, closingClient: closingClient) {
                // Room for the first body bytes too when they will be copied behind the head (TLS only).
                let bodyRoom = tls == nil ? 0 : min(buffer.readableBytes - end, Self.coalescedBodyBytes)
                var rewritten = loop.responseHeads.take(capacity: end + 32 + bodyRoom)
                buffer.withUnsafeReadableBytes { bytes in
                    ResponseHeadWriter.write(
                        response, from: bytes, end: end, closingClient: closingClient, compressing: compressing,
                        mappingLocalOrigins: localOrigins, adding: extraFields, into: &rewritten)
                }
                buffer.moveReaderIndex(forwardBy: end)
                finalHead = rewritten
            } else {
                finalHead = buffer.readSlice(length: end)!
                finalHeadIsSlice = true
            }
            exchange.responseBody = BodyProgress(response.framing)
        }
        if let deflater = exchange.compression {
            relayCompressed(buffer, head: finalHead, deflater: deflater, headCompletedAt: headCompletedAt)
            return
        }
        var taken = 0
        if buffer.readableBytes > 0 && !exchange.responseBody.isComplete {
            do {
                taken = try buffer.withUnsafeReadableBytes { try exchange.responseBody.consume($0) }
            } catch {
                // Broken chunk framing from the sandbox: cut the client off rather than pass on a lie.
                if let finalHead { writeToClient(finalHead) }
                flushClient()
                closeNow()
                return
            }
        }
        if var head = finalHead {
            // The head and the first body bytes as one write, so a small response is one TLS
            // record: a slice of what the upstream sent when the head is unchanged, else a copy
            // of the (small) first body bytes behind the rewritten head.
            finalHead = nil  // `head` is the only reference, so appending to it does not copy it
            if finalHeadIsSlice && taken > 0 {
                // The head was just read off `buffer`: step back over it and take head and body together.
                buffer.moveReaderIndex(to: buffer.readerIndex - head.readableBytes)
                head = buffer.readSlice(length: head.readableBytes + taken)!
                taken = 0
            } else if tls != nil && taken > 0 && taken <= Self.coalescedBodyBytes {
                // Without TLS there is no record to share: NIO sends both writes in one writev.
                var body = buffer.readSlice(length: taken)!
                head.writeBuffer(&body)
                taken = 0
            }
            exchange.bytesToClient &+= head.readableBytes
            writeToClient(head)
            if !finalHeadIsSlice { loop.responseHeads.giveBack(head) }
        }
        if taken > 0 {
            exchange.bytesToClient &+= taken
            writeToClient(buffer.readSlice(length: taken)!)
        }
        if exchange.responseBody.isComplete {
            if buffer.readableBytes > 0 { exchange.upstreamMisbehaved = true }
            finishExchange(upstreamReusable: !exchange.upstreamWillClose && !exchange.upstreamMisbehaved, now: headCompletedAt ?? now)
        }
    }

    /// `101 Switching Protocols`: from here both connections are a byte tunnel. `buffer` holds the
    /// head and whatever the sandbox sent after it.
    private func openTunnel(_ buffer: ByteBuffer, upgradeRequested: Bool) {
        guard upgradeRequested else {
            failUpstream()
            return
        }
        disarmTimer()
        state = .tunnel
        exchange.responseHeadDone = true
        loop.metrics.activeTunnels.increment()
        let opened = now
        loop.exchanges.countUpstreamResponse(durationNanoseconds: (opened - exchange.upstreamSentAt).nanoseconds)
        // The exchange is logged when the tunnel opens; its bytes are in the metrics.
        exchange.bytesToClient &+= buffer.readableBytes
        recordExchange(status: 101, now: opened)
        if loop.draining { scheduleTunnelClose() }
        // The head and whatever followed it are tunnel bytes now: one write.
        writeToClient(buffer)
        if let leftover = pending, leftover.readableBytes > 0 {
            pending = nil
            exchange.lease?.handler.write(leftover)
            exchange.lease?.handler.flush()
        }
        resumeClientReads()
    }

    /// The upstream broke the protocol before the response started: 502, and nothing is reused.
    private func failUpstream() {
        detachLease(reusable: false)
        respondAndClose(upstreamError(ErrorResponse.upstreamFailed), html: prefersHTML)
    }

    /// With `hostRewrite`, how the dev server's own URLs map back to the preview: its port, and the
    /// preview origin as the client named it (`<scheme>://<Host>`).
    private func localOriginRewrite() -> ResponseHeadWriter.LocalOriginRewrite? {
        guard let port = exchange.target?.port else { return nil }
        return withRequestHead { head, bytes in
            guard let host = head.hostField else { return nil }
            let scheme = role.scheme
            var origin = Array(UnsafeRawBufferPointer(start: scheme.utf8Start, count: scheme.utf8CodeUnitCount))
            origin += "://".utf8
            origin += UnsafeRawBufferPointer(rebasing: bytes[head.fields[host].value])
            return ResponseHeadWriter.LocalOriginRewrite(port: port, previewOrigin: origin)
        }
    }

    /// The zlib stream for this response, when it is to be compressed (``ResponseCompression``);
    /// `buffer` holds the response head `response` was parsed from.
    private func compressor(for response: ResponseHead, in buffer: ByteBuffer) -> Deflater? {
        let settings = loop.configuration.compression
        guard settings.isEnabled, response.framing != .none else { return nil }
        let coding = withRequestHead { request, requestBytes in
            buffer.withUnsafeReadableBytes { responseBytes in
                ResponseCompression.coding(
                    settings: settings, policy: exchange.policy, request: request, requestBytes: requestBytes,
                    response: response, responseBytes: responseBytes
                )
            }
        }
        guard let coding else { return nil }
        return loop.deflaters.take(coding, level: settings.level)
    }

    /// The body of a compressed response, one upstream read at a time: its content (without the
    /// upstream's chunk framing) goes through zlib, and what zlib emits leaves as one chunk per
    /// read, flushed (`Z_SYNC_FLUSH`) so a streamed response reaches the client as it comes. The
    /// first chunk is written behind the rewritten head, in the same buffer.
    private func relayCompressed(_ input: ByteBuffer, head: ByteBuffer?, deflater: Deflater, headCompletedAt: NIODeadline?) {
        var buffer = input
        var output = head ?? loop.responseHeads.take(capacity: min(buffer.readableBytes, Self.coalescedBodyBytes) + 64)
        var chunk = ResponseCompression.ChunkWriter()
        chunk.begin(in: &output)
        var compressed = true
        var taken = 0
        do {
            taken = try buffer.withUnsafeReadableBytes { bytes in
                try exchange.responseBody.consume(bytes) { content in
                    if compressed { compressed = deflater.compress(UnsafeRawBufferPointer(rebasing: bytes[content]), flush: .none, into: &output) }
                }
            }
        } catch {
            // Broken chunk framing from the sandbox: cut the client off rather than pass on a lie.
            flushClient()
            closeNow()
            return
        }
        buffer.moveReaderIndex(forwardBy: taken)
        let last = exchange.responseBody.isComplete
        if compressed && (taken > 0 || last) {
            compressed = deflater.compress(UnsafeRawBufferPointer(start: nil, count: 0), flush: last ? .finish : .sync, into: &output)
        }
        guard compressed else {
            flushClient()
            closeNow()
            return
        }
        chunk.end(in: &output, last: last)
        if output.readableBytes > 0 {
            exchange.bytesToClient &+= output.readableBytes
            writeToClient(output)
        }
        loop.responseHeads.giveBack(output)
        if last {
            if buffer.readableBytes > 0 { exchange.upstreamMisbehaved = true }
            finishExchange(upstreamReusable: !exchange.upstreamWillClose && !exchange.upstreamMisbehaved, now: headCompletedAt ?? now)
        }
    }

    /// Ends a compressed body whose upstream closed to end it: zlib's trailer and the last chunk.
    /// False when zlib failed and the connection was closed.
    private func endCompressedBody(_ deflater: Deflater) -> Bool {
        var output = loop.responseHeads.take(capacity: 64)
        var chunk = ResponseCompression.ChunkWriter()
        chunk.begin(in: &output)
        guard deflater.compress(UnsafeRawBufferPointer(start: nil, count: 0), flush: .finish, into: &output) else {
            flushClient()
            closeNow()
            return false
        }
        chunk.end(in: &output, last: true)
        exchange.bytesToClient &+= output.readableBytes
        writeToClient(output)
        loop.responseHeads.giveBack(output)
        return true
    }

    /// Both messages are complete: return the upstream to the pool and take the next request.
    private func finishExchange(upstreamReusable: Bool, now: NIODeadline) {
        if let deflater = exchange.compression {
            exchange.compression = nil
            loop.deflaters.giveBack(deflater)
        }
        disarmTimer()
        exchange.bodyClock.stop()
        releaseSandboxCount()
        recordExchange(status: exchange.responseStatus, now: now)
        detachLease(reusable: upstreamReusable && exchange.requestBody.isComplete)
        // The upstream handler is detached now, so its read-complete will not flush for us.
        flushClient()
        if exchange.keepsAlive {
            returnToIdle(now: now)
        } else {
            closeNow()
        }
    }
}
