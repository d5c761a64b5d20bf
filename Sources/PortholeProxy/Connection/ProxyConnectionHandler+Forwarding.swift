#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import PortholeCore

/// The allowed request on its way to the sandbox: an upstream connection, the rewritten head, and
/// the body streamed as slices of what the client sent, under the body clock.
extension ProxyConnectionHandler {
    func forward(policy: SandboxPolicy, target: PreviewHost) {
        let key = UpstreamKey(target: policy.target, port: target.port)
        if let lease = loop.pool.leaseIdle(key, likelyIn: lastStack) {
            // Without a policy load in between, nothing waited since the head was complete: its
            // time stands for the send time (one clock read fewer).
            send(over: lease, now: exchange.policyLoadedLater ? now : exchange.started)
        } else {
            connectAndSend(key)
        }
    }

    func connectAndSend(_ key: UpstreamKey) {
        state = .connecting
        loop.pool.connectNew(key).assumeIsolated().whenComplete { [self] result in
            guard state == .connecting else {
                if case .success(let lease) = result { loop.pool.release(lease) }
                return
            }
            switch result {
            case .success(let lease):
                send(over: lease, now: now)
            case .failure(let error):
                state = .idle
                respondToConnectFailure(error, sandbox: exchange.policy?.id ?? "", port: key.port)
            }
        }
    }

    /// The request head as the sandbox sees it, written into the loop's reusable head buffer.
    private func makeUpstreamHead() -> ByteBuffer {
        let rewrite = ForwardingRewrite(
            clientAddress: clientAddress,
            trustForwardedFields: peerIsTrusted,
            scheme: role.scheme,
            listenerPort: listenerPortText,
            rewriteHostToLocalhost: exchange.policy?.hostRewrite ?? false,
            upstreamPort: exchange.target?.port ?? 0,
            strippedTarget: exchange.strippedTarget,
            viaPseudonym: loop.viaPseudonym
        )
        let upstreamHead = withRequestHead { head, bytes in
            let room = RequestHeadWriter.maximumBytes(for: head, headBytes: bytes.count, rewrite: rewrite)
            var upstreamHead = loop.requestHeads.take(capacity: room)
            RequestHeadWriter.write(head, from: bytes, rewrite: rewrite, maximumBytes: room, into: &upstreamHead)
            return upstreamHead
        }
        loop.requestHeads.giveBack(upstreamHead)
        return upstreamHead
    }

    private func send(over lease: UpstreamPool.Lease, now: NIODeadline) {
        exchange.lease = lease
        lastStack = lease.stack
        loop.exchanges.countUpstreamLease(reused: lease.reused)
        exchange.upstreamSentAt = now
        lease.handler.owner = self
        state = .exchanging
        // Nothing of a response has arrived yet, also on a retry (it is made only before the first byte).
        let safeMethod = exchange.head.isGET || exchange.head.isHEAD || exchange.head.isOPTIONS
        exchange.mayRetry = lease.reused && exchange.head.framing == .none && safeMethod
        let upstreamHead = makeUpstreamHead()
        if !exchange.requestBody.isComplete, var buffer = pending {
            lease.handler.write(upstreamHead)
            pending = nil
            // The response timer is armed below, once.
            forwardRequestBody(&buffer, armingTimer: false)
            if buffer.readableBytes > 0 { pending = buffer }
            lease.handler.flush()
        } else {
            lease.handler.writeAndFlush(upstreamHead)
        }
        upstreamNeedsFlush = false
        if exchange.requestBody.isComplete || exchange.head.expectsContinue {
            // A client that expects `100 Continue` sends its body only after it: until then the
            // sandbox is the one that must answer.
            exchange.bodyClock.stop()
            armTimer(loop.configuration.upstreamResponseTimeout, now: now)
        } else {
            startBodyClock(now: now)
        }
        resumeClientReads()
    }

    /// The client now owes the rest of the request body.
    func startBodyClock(now: NIODeadline) {
        armTimer(deadline: exchange.bodyClock.start(now: now, timeout: loop.configuration.requestBodyTimeout))
    }

    /// Sends the part of `buffer` that belongs to the request body upstream, as a slice of it.
    func forwardRequestBody(_ buffer: inout ByteBuffer, armingTimer: Bool = true) {
        let taken: Int
        do {
            taken = try buffer.withUnsafeReadableBytes { try exchange.requestBody.consume($0) }
        } catch {
            // Invalid chunk framing: the stream cannot be trusted any more.
            if exchange.responseHeadDone {
                closeNow()
            } else {
                respondAndClose(ErrorResponse.badRequest((error as? HTTPParseError)?.description ?? "invalid body"), html: false)
            }
            return
        }
        if taken > 0, let slice = buffer.readSlice(length: taken) {
            exchange.lease?.handler.write(slice)
            upstreamNeedsFlush = true
        }
        if exchange.requestBody.isComplete {
            exchange.bodyClock.stop()
            if exchange.responseHeadDone {
                disarmTimer()
            } else if armingTimer {
                armTimer(loop.configuration.upstreamResponseTimeout)
            }
        } else if armingTimer && taken > 0 {
            let configuration = loop.configuration
            armTimer(
                deadline: exchange.bodyClock.progressed(
                    taken, now: now, timeout: configuration.requestBodyTimeout, minimumRate: configuration.requestBodyMinimumRate
                ))
        }
    }

    func respondToConnectFailure(_ error: any Error, sandbox: String, port: UInt16) {
        loop.metrics.upstreamConnectFailures.increment()
        if error is UpstreamTargetRefusal {
            // The details (the sandbox's internal address) go to the operator's log, not to the client.
            respond(ErrorResponse.upstreamTargetRefused(sandbox: sandbox))
        } else if case .connectTimeout = error as? ChannelError {
            respond(upstreamError(ErrorResponse.upstreamTimeout))
        } else if Self.isConnectionRefused(error) {
            respond(ErrorResponse.upstreamRefused(port: port, sandbox: sandbox))
        } else {
            respond(upstreamError(ErrorResponse.upstreamFailed))
        }
    }

    private static func isConnectionRefused(_ error: any Error) -> Bool {
        if let ioError = error as? IOError { return ioError.errnoCode == ECONNREFUSED }
        if let connectionError = error as? NIOConnectionError {
            return connectionError.connectionErrors.contains { isConnectionRefused($0.error) }
        }
        return false
    }
}
