#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
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
final class ProxyConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
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
    private static let maximumResponseHeadBytes = 64 * 1024
    /// Pipelined bytes read ahead while a response is in progress before reading pauses.
    private static let pipelineReadAhead = 16 * 1024
    /// Bytes the proxy will hold for a client while it waits (pipelined requests, policy loads).
    private static let maximumHeldBytes = 256 * 1024
    /// Body bytes copied behind a rewritten response head so both go out as one TLS record.
    private static let coalescedBodyBytes = 4 * 1024

    private let loop: ProxyLoopContext
    private let role: ListenerRole
    private var context: ChannelHandlerContext!
    /// The TLS handler below this one, when the listener has TLS: plaintext is exchanged with it by
    /// direct calls (`TLSPlaintextReceiver`), not through the pipeline.
    private var tls: TLSServerHandler?
    private var allocator = ByteBufferAllocator()
    /// Kept from writability events, so the upstream side can ask on every read without a call
    /// into the channel.
    private(set) var clientIsWritable = true
    /// Whether something was written to the client (or upstream) since the last flush: a flush
    /// with nothing to send still walks the pipeline.
    private var clientNeedsFlush = false
    private var upstreamNeedsFlush = false
    private var state: State = .idle
    /// The client's address as text, for X-Forwarded-For; computed once per connection (or taken
    /// from the load balancer's PROXY protocol header).
    private var clientAddress = ""
    /// Whether the HTTP peer is a trusted proxy whose X-Forwarded-* fields are believed.
    private var peerIsTrusted = false
    private let listenerPortText: String

    /// Client bytes not yet handled: a partial head, body bytes waiting for the upstream, or pipelined requests.
    private var pending: ByteBuffer?
    /// A `read()` held back for backpressure.
    private var clientReadHeld = false

    // The exchange in flight.
    private var head = RequestHead()
    private var headBytes: ByteBuffer?
    private var target: PreviewHost?
    private var policy: SandboxPolicy?
    private var requestBody = BodyProgress(.none)
    private var lease: UpstreamPool.Lease?
    /// The target without `preview_token`, when the client sent one.
    private var strippedTarget: String?
    /// The policy of this request came from the store, not the cache (time passed since the head).
    private var policyLoadedLater = false
    /// Where the last upstream connection came from: the next request nearly always goes to the
    /// same sandbox port, and comparing its key is cheaper than hashing it.
    private var lastStack: UpstreamPool.IdleStack?
    /// Until the first response byte: a safe request sent on a reused connection that then closed
    /// (a keep-alive race) is sent again, with the same head, on a fresh one.
    private var mayRetry = false
    private var upstreamHeadPartial: ByteBuffer?
    /// The upstream announced it closes after this response (its head is parsed in the loop's
    /// shared `ResponseHead`, only this survives it).
    private var upstreamWillClose = false
    private var responseHeadDone = false
    private var responseBody = BodyProgress(.none)
    private var closeAfterResponse = false
    /// The upstream sent bytes past the end of its response: it cannot be trusted with another request.
    private var upstreamMisbehaved = false

    // Accounting for metrics and the access log of the exchange in flight.
    private var requestStarted: NIODeadline = .distantPast
    private var upstreamSentAt: NIODeadline = .distantPast
    private var decision: ProxyMetrics.Decision = .error
    private var responseStatus = 0
    private var bytesToClient = 0
    /// Whether the exchange in flight has been counted (each request is counted exactly once).
    private var exchangeRecorded = true
    private var bytesFromClient = 0
    private var drainTimer: Scheduled<Void>?
    /// The sandbox whose concurrent-exchange count this connection holds, if any.
    private var countedSandbox: String?
    /// The Host field `target` was parsed from, and the configuration generation it was parsed
    /// under (a reload may change the base domains): a keep-alive connection nearly always asks
    /// the same sandbox again, and comparing bytes is cheaper than parsing them (or copying the host).
    private var lastHostField: [UInt8] = []
    private var lastHostGeneration = 0

    /// While the request body streams in: when the client must have sent more of it
    /// (`requestBodyTimeout`, extended by `requestBodyMinimumRate` for what it sent).
    /// `distantFuture` while the body clock does not run (no body, or waiting for `100 Continue`).
    private var bodyDeadline: NIODeadline = .distantFuture

    // One lazily re-armed timer per connection: arming only moves the deadline, so per-request cost is a clock read.
    private var timer: Scheduled<Void>?
    private var timerScheduledFor: NIODeadline = .distantFuture
    private var timerDeadline: NIODeadline = .distantFuture

    init(loop: ProxyLoopContext, role: ListenerRole) {
        self.loop = loop
        self.role = role
        self.listenerPortText = String(role.publicPort)
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
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
        // ProxyServer counted this connection when it added the handler.
        loop.limits.connectionClosed()
        releaseSandboxCount()
        timer?.cancel()
        timer = nil
        drainTimer?.cancel()
        drainTimer = nil
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
        if event is TLSHandshakeCompleted {
            loop.metrics.tlsHandshakes.increment()
        } else if let header = event as? ProxyProtocolHeader {
            // Behind an L4 balancer the HTTP peer is the client it names, not the balancer.
            clientAddress = header.source?.ipAddress ?? ""
            peerIsTrusted = header.source.map { loop.configuration.trustedProxies.contains($0) } ?? false
        }
        context.fireUserInboundEventTriggered(event)
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
            let now = NIODeadline.now()
            if pending == nil {
                pending = buffer
                armTimer(loop.configuration.headerTimeout, now: now)
            } else {
                pending!.writeBuffer(&buffer)
            }
            processPending(now: now)
        case .exchanging where !requestBody.isComplete:
            forwardRequestBody(&buffer)
            if buffer.readableBytes > 0 { hold(&buffer) }
        case .awaitingPolicy, .connecting, .exchanging:
            hold(&buffer)
        case .tunnel:
            lease?.handler.write(buffer)
            upstreamNeedsFlush = true
        case .closing:
            break
        }
    }

    private func readComplete() {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            lease?.handler.flush()
        }
        flushClient()
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientIsWritable = false
        timer?.cancel()
        timer = nil
        drainTimer?.cancel()
        loop.unregister(self)
        loop.metrics.activeConnections.decrement()
        if state == .tunnel { loop.metrics.activeTunnels.decrement() }
        releaseSandboxCount()
        recordExchange(status: responseStatus == 0 ? 499 : responseStatus)
        loop.metrics.bytesFromClients.increment(by: Int64(bytesFromClient))
        if let lease {
            self.lease = nil
            lease.handler.owner = nil
            lease.handler.close()
        }
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
            if requestBody.isComplete {
                closeAfterResponse = true
                // Pipelined requests behind this one are not answered once it closes.
            } else if responseHeadDone {
                // The body can never complete; the answer already started: cut it.
                flushClient()
                closeNow()
            } else {
                respondAndClose(ErrorResponse.badRequest("the connection was half-closed before the request body was complete"), html: false)
            }
        case .tunnel:
            lease?.handler.closeOutput()
        case .closing:
            break
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        clientIsWritable = context.channel.isWritable
        if clientIsWritable { lease?.handler.resumeReads() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A TCP close without close_notify is what many clients do when they are done: not a failure.
        if let tlsError = error as? TLSError, tlsError != .uncleanShutdown { loop.metrics.tlsFailures.increment() }
        context.close(promise: nil)
    }

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
            requestBody.isComplete
                ? (pending?.readableBytes ?? 0) >= Self.pipelineReadAhead : !(lease?.handler.isWritable ?? false)
        case .tunnel: !(lease?.handler.isWritable ?? false)
        }
    }

    private func resumeClientReads() {
        guard clientReadHeld, !shouldHoldClientReads else { return }
        clientReadHeld = false
        context.read()
    }

    private func hold(_ buffer: inout ByteBuffer) {
        if pending == nil {
            pending = buffer
        } else {
            pending!.writeBuffer(&buffer)
        }
        if pending!.readableBytes > Self.maximumHeldBytes { closeNow() }
    }

    // MARK: - Request heads

    /// Parses the next request head out of `pending`, if it is complete, and starts its exchange.
    private func processPending(now: NIODeadline) {
        guard state == .idle, var buffer = pending else { return }
        // RFC 9112 §2.2: ignore empty lines before a request line (some clients send CRLF after a body).
        while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), byte == ASCII.cr || byte == ASCII.lf {
            buffer.moveReaderIndex(forwardBy: 1)
        }
        if buffer.readableBytes == 0 {
            pending = nil
            armTimer(loop.configuration.keepAliveTimeout, now: now)
            resumeClientReads()
            return
        }
        let end: Int
        switch buffer.withUnsafeReadableBytes({ ASCII.headEnd($0) }) {
        case .complete(let headEnd):
            end = headEnd
        case .bareLineFeed:
            respondAndClose(ErrorResponse.badRequest(HTTPParseError.bareLineFeedOrCarriageReturn.description), html: false)
            return
        case .incomplete:
            pending = buffer
            if buffer.readableBytes > loop.configuration.maximumHeadBytes {
                respondAndClose(ErrorResponse.headersTooLarge, html: false)
            } else {
                resumeClientReads()
            }
            return
        }
        guard end <= loop.configuration.maximumHeadBytes else {
            respondAndClose(ErrorResponse.headersTooLarge, html: false)
            return
        }
        let headSlice = buffer.readSlice(length: end)!
        pending = buffer.readableBytes > 0 ? buffer : nil
        do {
            if head.fields.capacity == 0 { head.fields = loop.takeFieldArray() }
            try headSlice.withUnsafeReadableBytes { bytes in try head.parse(bytes, end: end) }
        } catch let error as HTTPParseError {
            let response = error.status == 400
                ? ErrorResponse.badRequest(error.description)
                : ErrorResponse(status: error.status, code: error.code, message: error.description)
            respondAndClose(response, html: false)
            return
        } catch {
            respondAndClose(ErrorResponse.badRequest("malformed request"), html: false)
            return
        }
        headBytes = headSlice
        let targetCheck = headSlice.withUnsafeReadableBytes { RequestTargetCheck.check(head, $0) }
        switch targetCheck {
        case .accept:
            break
        case .acceptOriginForm(let path):
            head.target = path
        case .refuse(let response):
            // The body, if any, was not read: the connection cannot carry another request.
            respondAndClose(response, html: false)
            return
        }
        headBytes = headSlice
        requestBody = BodyProgress(head.framing)
        closeAfterResponse = head.wantsClose || loop.draining
        requestStarted = now
        decision = .error
        responseStatus = 0
        bytesToClient = 0
        exchangeRecorded = false
        disarmTimer()
        route()
    }

    /// Finds the sandbox this request is for and looks up its policy.
    private func route() {
        let headSlice = headBytes!
        if hasLooped() {
            respond(ErrorResponse.loopDetected)
            return
        }
        // A host that named a sandbox before is not the bare base domain, so no health check.
        let sameHost = hostIsTheLastOne()
        if !sameHost, answerHealthCheck() { return }
        if case .redirectToHTTPS(let httpsPort) = role.mode {
            redirectToHTTPS(httpsPort: httpsPort)
            return
        }
        // On the same host `target` already names it.
        if !sameHost {
            let parsed: Result<PreviewHost, PreviewHostError> = headSlice.withUnsafeReadableBytes { bytes in
                guard let hostField = head.hostField else {
                    return PreviewHost.parse(UnsafeRawBufferPointer(start: nil, count: 0), baseDomains: loop.configuration.baseDomains)
                }
                let field = UnsafeRawBufferPointer(rebasing: bytes[head.fields[hostField].value])
                let parsed = PreviewHost.parse(field, baseDomains: loop.configuration.baseDomains)
                if case .success = parsed {
                    lastHostField = Array(field)
                    lastHostGeneration = loop.configurationGeneration
                }
                return parsed
            }
            switch parsed {
            case .failure(let error):
                // Not the previous host either (nor logged as it).
                target = nil
                respond(ErrorResponse.badHost(error.message))
                return
            case .success(let host):
                target = host
            }
        }
        policyLoadedLater = false
        switch loop.policies.lookup(target!.sandboxID, on: loop.eventLoop) {
        case .found(let policy):
            authorise(policy)
        case .notFound:
            respond(ErrorResponse.sandboxNotFound(target!.sandboxID))
        case .pending(let future):
            state = .awaitingPolicy
            future.assumeIsolated().whenComplete { [self] result in
                guard state == .awaitingPolicy else { return }
                state = .idle
                policyLoadedLater = true
                switch result {
                case .success(let policy?): authorise(policy)
                case .success(nil): respond(ErrorResponse.sandboxNotFound(target!.sandboxID))
                case .failure: respond(ErrorResponse.storeUnavailable)
                }
            }
        }
    }

    /// Applies the access decision, then forwards, redirects or refuses.
    private func authorise(_ policy: SandboxPolicy) {
        let target = self.target!
        self.policy = policy
        var strippedTarget: String? = nil
        var preflight: CORSPreflight? = nil
        let request: AccessRequest = headBytes!.withUnsafeReadableBytes { bytes in
            var headerToken: String? = nil
            var sessionCookies: [String] = []
            var preflightMethod: Range<Int>? = nil
            for field in head.fields {
                switch field.kind {
                case .previewToken where headerToken == nil:
                    headerToken = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self)
                case .cookie where ASCII.contains(bytes, field.value, PreviewSessionCookie.name):
                    let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self)
                    sessionCookies += CookieHeader.values(name: PreviewSessionCookie.name, in: value).map(String.init)
                case .accessControlRequestMethod where head.isOPTIONS: preflightMethod = field.value
                default: break
                }
            }
            if preflightMethod != nil {
                preflight = makePreflight(bytes, sandboxID: target.sandboxID)
            }
            var queryToken: String? = nil
            if ASCII.contains(bytes, head.target, "preview_token=") {
                let rawTarget = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.target]), as: UTF8.self)
                let stripped = QueryString.removingParameter("preview_token", from: rawTarget)
                if let value = stripped.value {
                    queryToken = value
                    strippedTarget = stripped.target
                }
            }
            return AccessRequest(
                port: target.port,
                headerToken: headerToken,
                queryToken: queryToken,
                sessionCookies: sessionCookies,
                kind: head.hints(bytes, isPreflight: preflight != nil).kind,
                now: Int64(time(nil))
            )
        }
        switch AccessDecision.decide(policy: policy, request: request, rules: loop.accessRules) {
        case .allow(let grant):
            decision = Self.metricsDecision(grant)
            // Counted only once the request is allowed: unauthenticated requests never take a
            // sandbox's places, nor learn whether it is busy.
            let sandboxCap = loop.configuration.maximumExchangesPerSandbox
            if sandboxCap > 0 && countedSandbox == nil {
                guard loop.limits.startExchange(with: target.sandboxID, cap: sandboxCap) else {
                    respond(ErrorResponse(
                        status: 429, code: "too_many_connections",
                        message: "sandbox \(target.sandboxID) has too many open connections through this proxy; retry shortly"
                    ))
                    return
                }
                countedSandbox = target.sandboxID
            }
            forward(policy: policy, strippedTarget: strippedTarget)
        case .exchangeTokenForCookie(let setCookie):
            decision = .queryToken
            redirectWithCookie(location: SameOriginLocation.path(from: strippedTarget ?? "/"), setCookie: setCookie)
        case .answerPreflight:
            decision = .preflight
            // `.answerPreflight` is only decided for a request classified as a preflight.
            answer(preflight!)
        case .deny(let denial):
            decision = .denied
            respond(ErrorResponse(status: denial.status, code: denial.code, message: denial.message))
        }
    }

    // MARK: - Forwarding

    private func forward(policy: SandboxPolicy, strippedTarget: String?) {
        self.strippedTarget = strippedTarget
        let key = UpstreamKey(target: policy.target, port: target!.port)
        if let lease = loop.pool.leaseIdle(key, likelyIn: lastStack) {
            // Without a policy load in between, nothing waited since the head was complete: its
            // time stands for the send time (one clock read fewer).
            send(over: lease, now: policyLoadedLater ? .now() : requestStarted)
        } else {
            connectAndSend(key)
        }
    }

    private func connectAndSend(_ key: UpstreamKey) {
        state = .connecting
        loop.pool.connectNew(key).assumeIsolated().whenComplete { [self] result in
            guard state == .connecting else {
                if case .success(let lease) = result { loop.pool.release(lease) }
                return
            }
            switch result {
            case .success(let lease):
                send(over: lease, now: .now())
            case .failure(let error):
                state = .idle
                respondToConnectFailure(error, sandbox: policy?.id ?? "", port: key.port)
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
            rewriteHostToLocalhost: policy!.hostRewrite,
            upstreamPort: target!.port,
            strippedTarget: strippedTarget,
            viaPseudonym: loop.viaPseudonym
        )
        let headBytes = self.headBytes!
        let room = RequestHeadWriter.maximumBytes(for: head, headBytes: headBytes.readableBytes, rewrite: rewrite)
        var upstreamHead = loop.requestHeads.take(capacity: room)
        headBytes.withUnsafeReadableBytes { bytes in
            RequestHeadWriter.write(head, from: bytes, rewrite: rewrite, maximumBytes: room, into: &upstreamHead)
        }
        loop.requestHeads.giveBack(upstreamHead)
        return upstreamHead
    }

    private func send(over lease: UpstreamPool.Lease, now: NIODeadline) {
        self.lease = lease
        lastStack = lease.stack
        loop.exchanges.countUpstreamLease(reused: lease.reused)
        upstreamSentAt = now
        lease.handler.owner = self
        state = .exchanging
        responseHeadDone = false
        upstreamHeadPartial = nil
        upstreamMisbehaved = false
        mayRetry = lease.reused && head.framing == .none && (head.isGET || head.isHEAD || head.isOPTIONS)
        let upstreamHead = makeUpstreamHead()
        if !requestBody.isComplete, var buffer = pending {
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
        if requestBody.isComplete || head.expectsContinue {
            // A client that expects `100 Continue` sends its body only after it: until then the
            // sandbox is the one that must answer.
            bodyDeadline = .distantFuture
            armTimer(loop.configuration.upstreamResponseTimeout, now: now)
        } else {
            startBodyClock(now: now)
        }
        resumeClientReads()
    }

    /// The client now owes the rest of the request body.
    private func startBodyClock(now: NIODeadline) {
        bodyDeadline = now + loop.configuration.requestBodyTimeout
        armTimer(deadline: bodyDeadline)
    }

    /// `bytes` more of the body arrived: the deadline moves by what they buy at the minimum rate,
    /// never further than one whole timeout from now.
    private func bodyProgressed(_ bytes: Int) {
        let now = NIODeadline.now()
        guard bodyDeadline != .distantFuture else {
            startBodyClock(now: now)
            return
        }
        let rate = max(loop.configuration.requestBodyMinimumRate, 1)
        let earned = bodyDeadline + .nanoseconds(Int64(bytes) * 1_000_000_000 / Int64(rate))
        bodyDeadline = min(earned, now + loop.configuration.requestBodyTimeout)
        armTimer(deadline: bodyDeadline)
    }

    /// Sends the part of `buffer` that belongs to the request body upstream, as a slice of it.
    private func forwardRequestBody(_ buffer: inout ByteBuffer, armingTimer: Bool = true) {
        let taken: Int
        do {
            taken = try buffer.withUnsafeReadableBytes { try requestBody.consume($0) }
        } catch {
            // Invalid chunk framing: the stream cannot be trusted any more.
            if responseHeadDone {
                closeNow()
            } else {
                respondAndClose(ErrorResponse.badRequest((error as? HTTPParseError)?.description ?? "invalid body"), html: false)
            }
            return
        }
        if taken > 0, let slice = buffer.readSlice(length: taken) {
            lease?.handler.write(slice)
            upstreamNeedsFlush = true
        }
        if requestBody.isComplete {
            bodyDeadline = .distantFuture
            if armingTimer && !responseHeadDone { armTimer(loop.configuration.upstreamResponseTimeout) }
            else if responseHeadDone { disarmTimer() }
        } else if armingTimer && taken > 0 {
            bodyProgressed(taken)
        }
    }

    private func respondToConnectFailure(_ error: any Error, sandbox: String, port: UInt16) {
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

    // MARK: - Upstream events (called by UpstreamHandler on this event loop)

    func upstreamRead(_ buffer: ByteBuffer) {
        switch state {
        case .tunnel:
            bytesToClient &+= buffer.readableBytes
            writeToClient(buffer)
        case .exchanging:
            mayRetry = false
            handleResponseBytes(buffer)
        default:
            lease?.handler.close()
        }
    }

    func upstreamReadComplete() {
        flushClient()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable { resumeClientReads() }
    }

    func upstreamClosed() {
        let closedLease = lease
        lease = nil
        switch state {
        case .tunnel:
            flushClient()
            closeNow()
        case .exchanging:
            if responseHeadDone && responseBody.isUntilClose {
                // A body delimited by close has ended; the client was told `Connection: close`.
                closeAfterResponse = true
                finishExchange(upstreamReusable: false)
            } else if !responseHeadDone, mayRetry, let closedLease, upstreamHeadPartial == nil {
                mayRetry = false
                loop.metrics.upstreamRetries.increment()
                // A fresh connection: the pool's other idle ones may have died the same way.
                connectAndSend(closedLease.key)
            } else if !responseHeadDone {
                respondAndClose(upstreamError(ErrorResponse.upstreamFailed), html: prefersHTML)
            } else {
                // The response was cut short: the client must see a broken message, not a complete one.
                flushClient()
                closeNow()
            }
        default:
            break
        }
    }

    private func handleResponseBytes(_ input: ByteBuffer) {
        var buffer = input
        /// The final response head, held back so the first body bytes can leave in the same write.
        var finalHead: ByteBuffer? = nil
        var finalHeadIsSlice = false
        var now: NIODeadline? = nil
        while !responseHeadDone {
            if var partial = upstreamHeadPartial {
                partial.writeBuffer(&buffer)
                buffer = partial
                upstreamHeadPartial = nil
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
                    upstreamHeadPartial = buffer
                }
                return
            }
            // Parsed into the loop's one ResponseHead (its field storage reused by every connection),
            // moved out and back so it is not shared while it is written.
            var response = loop.responseHead
            loop.responseHead = ResponseHead()
            defer { loop.responseHead = response }
            do {
                let wasHEAD = head.isHEAD
                try buffer.withUnsafeReadableBytes { try response.parse($0, end: end, requestWasHEAD: wasHEAD) }
            } catch {
                failUpstream()
                return
            }
            if response.status == 101 {
                guard head.isUpgrade else {
                    failUpstream()
                    return
                }
                disarmTimer()
                state = .tunnel
                responseHeadDone = true
                loop.metrics.activeTunnels.increment()
                let opened = NIODeadline.now()
                loop.exchanges.countUpstreamResponse(durationNanoseconds: (opened - upstreamSentAt).nanoseconds)
                // The exchange is logged when the tunnel opens; its bytes are in the metrics.
                bytesToClient &+= buffer.readableBytes
                recordExchange(status: 101, now: opened)
                if loop.draining { scheduleTunnelClose() }
                // The head and whatever followed it are tunnel bytes now: one write.
                writeToClient(buffer)
                if let leftover = pending, leftover.readableBytes > 0 {
                    pending = nil
                    lease?.handler.write(leftover)
                    lease?.handler.flush()
                }
                resumeClientReads()
                return
            }
            if response.status < 200 {
                // 1xx interim responses (100 Continue, 103 Early Hints) are relayed as they come.
                bytesToClient &+= end
                writeToClient(buffer.readSlice(length: end)!)
                // After `100 Continue` the body is the client's to send.
                if response.status == 100 && !requestBody.isComplete && bodyDeadline == .distantFuture {
                    startBodyClock(now: .now())
                }
                continue
            }
            responseHeadDone = true
            responseStatus = response.status
            upstreamWillClose = response.upstreamCloses
            now = .now()
            loop.exchanges.countUpstreamResponse(durationNanoseconds: (now! - upstreamSentAt).nanoseconds)
            // A body still streaming in keeps its clock; otherwise nothing is timed while the response streams.
            if requestBody.isComplete || bodyDeadline == .distantFuture { disarmTimer() }
            if response.framing == .untilClose || head.version == .http10 { closeAfterResponse = true }
            if ResponseHeadWriter.needsRewrite(response, closingClient: closeAfterResponse) {
                // Room for the first body bytes too when they will be copied behind the head (TLS only).
                let bodyRoom = tls == nil ? 0 : min(buffer.readableBytes - end, Self.coalescedBodyBytes)
                var rewritten = loop.responseHeads.take(capacity: end + 32 + bodyRoom)
                buffer.withUnsafeReadableBytes { bytes in
                    ResponseHeadWriter.write(response, from: bytes, end: end, closingClient: closeAfterResponse, into: &rewritten)
                }
                buffer.moveReaderIndex(forwardBy: end)
                finalHead = rewritten
            } else {
                finalHead = buffer.readSlice(length: end)!
                finalHeadIsSlice = true
            }
            responseBody = BodyProgress(response.framing)
        }
        var taken = 0
        if buffer.readableBytes > 0 && !responseBody.isComplete {
            do {
                taken = try buffer.withUnsafeReadableBytes { try responseBody.consume($0) }
            } catch {
                // Broken chunk framing from the sandbox: cut the client off rather than pass on a lie.
                if let finalHead { writeToClient(finalHead) }
                flushClient()
                closeNow()
                return
            }
        }
        if finalHead != nil {
            // The head and the first body bytes as one write, so a small response is one TLS
            // record: a slice of what the upstream sent when the head is unchanged, else a copy
            // of the (small) first body bytes behind the rewritten head. (Mutated through the
            // optional, never a copy of it, so the storage stays unshared and is not copied.)
            if finalHeadIsSlice && taken > 0 {
                // The head was just read off `buffer`: step back over it and take head and body together.
                let headLength = finalHead!.readableBytes
                buffer.moveReaderIndex(to: buffer.readerIndex - headLength)
                finalHead = buffer.readSlice(length: headLength + taken)!
                taken = 0
            } else if tls != nil && taken > 0 && taken <= Self.coalescedBodyBytes {
                // Without TLS there is no record to share: NIO sends both writes in one writev.
                var body = buffer.readSlice(length: taken)!
                finalHead!.writeBuffer(&body)
                taken = 0
            }
            bytesToClient &+= finalHead!.readableBytes
            writeToClient(finalHead!)
            if !finalHeadIsSlice { loop.responseHeads.giveBack(finalHead!) }
        }
        if taken > 0 {
            bytesToClient &+= taken
            writeToClient(buffer.readSlice(length: taken)!)
        }
        if responseBody.isComplete {
            if buffer.readableBytes > 0 { upstreamMisbehaved = true }
            finishExchange(upstreamReusable: !upstreamWillClose && !upstreamMisbehaved, now: now ?? .now())
        }
    }

    /// The upstream broke the protocol before the response started: 502, and nothing is reused.
    private func failUpstream() {
        if let lease {
            self.lease = nil
            lease.handler.owner = nil
            lease.handler.close()
        }
        respondAndClose(upstreamError(ErrorResponse.upstreamFailed), html: prefersHTML)
    }

    /// Both messages are complete: return the upstream to the pool and take the next request.
    private func finishExchange(upstreamReusable: Bool, now: NIODeadline = .now()) {
        disarmTimer()
        bodyDeadline = .distantFuture
        releaseSandboxCount()
        recordExchange(status: responseStatus, now: now)
        if let lease {
            self.lease = nil
            if upstreamReusable && requestBody.isComplete {
                loop.pool.release(lease)
            } else {
                lease.handler.owner = nil
                lease.handler.close()
            }
        }
        headBytes = nil
        loop.giveBack(fields: &head.fields)
        policy = nil
        // The upstream handler is detached now, so its read-complete will not flush for us.
        flushClient()
        if closeAfterResponse || !requestBody.isComplete {
            state = .closing
            closeNow()
            return
        }
        state = .idle
        armTimer(loop.configuration.keepAliveTimeout, now: now)
        if pending != nil {
            processPending(now: now)
        } else {
            resumeClientReads()
        }
    }

    // MARK: - Proxy's own responses

    /// Fills in which sandbox and port an upstream error is about.
    private func upstreamError(_ make: (UInt16, String) -> ErrorResponse) -> ErrorResponse {
        make(target?.port ?? 0, policy?.id ?? target?.sandboxID ?? "")
    }

    private var prefersHTML: Bool {
        guard let headBytes else { return false }
        return headBytes.withUnsafeReadableBytes { head.hints($0).prefersHTML }
    }

    /// Answers the current request with the proxy's own response and keeps the connection when the
    /// request carried no body (else the unread body would be taken for the next request).
    private func respond(_ error: ErrorResponse) {
        let keepAlive = head.framing == .none && !head.wantsClose && !loop.draining
        writeResponse(error, html: prefersHTML, close: !keepAlive)
        if keepAlive {
            headBytes = nil
            loop.giveBack(fields: &head.fields)
            state = .idle
            flushClient()
            let now = NIODeadline.now()
            armTimer(loop.configuration.keepAliveTimeout, now: now)
            if pending != nil { processPending(now: now) } else { resumeClientReads() }
        } else {
            state = .closing
            flushClient()
            closeNow()
        }
    }

    private func respondAndClose(_ error: ErrorResponse, html: Bool) {
        guard state != .closing else { return }
        writeResponse(error, html: html, close: true)
        state = .closing
        flushClient()
        closeNow()
    }

    private func writeResponse(_ error: ErrorResponse, html: Bool, close: Bool) {
        if decision != .denied && decision != .proxy { decision = .error }
        responseStatus = error.status
        releaseSandboxCount()
        let body = error.body(html: html)
        var buffer = allocator.buffer(capacity: 256 + body.count)
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(error.status))
        buffer.writeStaticString(" ")
        buffer.writeString(ErrorResponse.reasonPhrase(error.status))
        buffer.writeStaticString("\r\nContent-Type: ")
        buffer.writeString(error.contentType(html: html))
        buffer.writeStaticString("\r\nContent-Length: ")
        buffer.writeString(String(body.count))
        buffer.writeStaticString("\r\nCache-Control: no-store\r\n")
        if error.status == 503 { buffer.writeStaticString("Retry-After: 10\r\n") }
        if error.status == 401 { buffer.writeStaticString("WWW-Authenticate: Preview-Token\r\n") }
        if close { buffer.writeStaticString("Connection: close\r\n") }
        buffer.writeStaticString("\r\n")
        if !head.isHEAD || headBytes == nil { buffer.writeBytes(body) }
        bytesToClient &+= buffer.readableBytes
        writeToClient(buffer)
        recordExchange(status: error.status)
    }

    private func redirectWithCookie(location: String, setCookie: String) {
        var buffer = allocator.buffer(capacity: 512)
        buffer.writeStaticString("HTTP/1.1 302 Found\r\nLocation: ")
        buffer.writeString(location)
        buffer.writeStaticString("\r\nSet-Cookie: ")
        buffer.writeString(setCookie)
        buffer.writeStaticString("\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nContent-Length: 0\r\n")
        sendOwnResponse(&buffer, status: 302)
    }

    /// The request as a CORS preflight, when it is a well-formed one (``CORSPreflight``).
    private func makePreflight(_ bytes: UnsafeRawBufferPointer, sandboxID: String) -> CORSPreflight? {
        var origin: String? = nil
        var method: String? = nil
        var headers: String? = nil
        for field in head.fields {
            let text = { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self) }
            switch field.kind {
            // A repeated field is not a preflight a browser sends: not well formed.
            case .origin: if origin != nil { return nil } else { origin = text() }
            case .accessControlRequestMethod: if method != nil { return nil } else { method = text() }
            case .accessControlRequestHeaders: if headers != nil { return nil } else { headers = text() }
            default: break
            }
        }
        return CORSPreflight.parse(
            origin: origin, requestMethod: method, requestHeaders: headers,
            hasBody: head.framing != .none, sandboxID: sandboxID, baseDomains: loop.configuration.baseDomains
        )
    }

    /// `204` with the CORS fields that let the announced request through; it still needs its token.
    private func answer(_ preflight: CORSPreflight) {
        let fields = preflight.responseFields
        var buffer = allocator.buffer(capacity: 128 + fields.utf8.count)
        buffer.writeStaticString("HTTP/1.1 204 No Content\r\n")
        buffer.writeString(fields)
        buffer.writeStaticString("Cache-Control: no-store\r\n")
        sendOwnResponse(&buffer, status: 204)
    }

    private func redirectToHTTPS(httpsPort: Int) {
        let hostIsValid = headBytes!.withUnsafeReadableBytes { bytes in
            head.hostField.map { RequestTargetCheck.isValidHost(bytes, head.fields[$0].value) } ?? false
        }
        guard hostIsValid else {
            // Copied into `Location`, a Host such as `evil.example/x?` or `a@b` would send the client elsewhere.
            respond(ErrorResponse.badHost("the Host field is not a host name (with an optional port)"))
            return
        }
        var location = "https://"
        headBytes!.withUnsafeReadableBytes { bytes in
            if let hostField = head.hostField {
                var host = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.fields[hostField].value]), as: UTF8.self)
                if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") { host = String(host[..<colon]) }
                location += host
            }
            if httpsPort != 443 { location += ":\(httpsPort)" }
            location += String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.target]), as: UTF8.self)
        }
        var buffer = allocator.buffer(capacity: 256 + location.utf8.count)
        buffer.writeStaticString("HTTP/1.1 308 Permanent Redirect\r\nLocation: ")
        buffer.writeString(location)
        buffer.writeStaticString("\r\nContent-Length: 0\r\n")
        decision = .proxy
        sendOwnResponse(&buffer, status: 308)
    }

    /// Ends a body-less response of the proxy's own whose head `buffer` holds (all but the
    /// connection field and the empty line), sends it and takes the next request, or closes
    /// when the request had a body (unread, it would be taken for the next request), asked to
    /// close, or the server drains.
    private func sendOwnResponse(_ buffer: inout ByteBuffer, status: Int) {
        let keepAlive = head.framing == .none && !head.wantsClose && !loop.draining
        buffer.writeStaticString(keepAlive ? "\r\n" : "Connection: close\r\n\r\n")
        responseStatus = status
        bytesToClient &+= buffer.readableBytes
        writeToClient(buffer)
        recordExchange(status: status)
        finishOwnResponse(keepAlive: keepAlive)
    }

    private func finishOwnResponse(keepAlive: Bool) {
        releaseSandboxCount()
        headBytes = nil
        loop.giveBack(fields: &head.fields)
        flushClient()
        if keepAlive {
            state = .idle
            let now = NIODeadline.now()
            armTimer(loop.configuration.keepAliveTimeout, now: now)
            if pending != nil { processPending(now: now) } else { resumeClientReads() }
        } else {
            state = .closing
            closeNow()
        }
    }

    private func writeToClient(_ buffer: ByteBuffer) {
        clientNeedsFlush = true
        if let tls {
            tls.writePlaintext(buffer)
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    private func flushClient() {
        guard clientNeedsFlush else { return }
        clientNeedsFlush = false
        if let tls {
            tls.flushPlaintext()
        } else {
            context.flush()
        }
    }

    private func closeNow() {
        state = .closing
        if let lease {
            self.lease = nil
            lease.handler.owner = nil
            lease.handler.close()
        }
        context.close(promise: nil)
    }

    // MARK: - Accounting

    private static func metricsDecision(_ grant: AccessGrant) -> ProxyMetrics.Decision {
        switch grant {
        case .public: .publicAccess
        case .token: .token
        case .cookie: .cookie
        case .queryToken: .queryToken
        case .signedURL: .signedURL
        }
    }

    /// Counts the exchange in flight once, and writes its access-log line.
    private func recordExchange(status: Int, now: NIODeadline = .now()) {
        guard !exchangeRecorded else { return }
        exchangeRecorded = true
        let elapsed = now - requestStarted
        loop.exchanges.countRequest(
            decision, status: status, bytesToClient: bytesToClient, durationNanoseconds: elapsed.nanoseconds
        )
        guard let accessLog = loop.accessLog, let headBytes else { return }
        headBytes.withUnsafeReadableBytes { bytes in
            var path = head.target
            if let question = path.firstIndex(where: { bytes[$0] == UInt8(ascii: "?") }) { path = path.lowerBound..<question }
            accessLog.record(
                AccessLog.Entry(
                    clientAddress: clientAddress,
                    sandbox: target?.sandboxID ?? "",
                    port: target?.port ?? 0,
                    method: UnsafeRawBufferPointer(rebasing: bytes[head.method]),
                    path: UnsafeRawBufferPointer(rebasing: bytes[path]),
                    previewToken: policy?.previewToken,
                    status: status,
                    bytes: bytesToClient,
                    durationMicroseconds: elapsed.nanoseconds / 1000,
                    decision: decision
                )
            )
        }
    }

    private func releaseSandboxCount() {
        if let sandbox = countedSandbox {
            countedSandbox = nil
            loop.limits.endExchange(with: sandbox)
        }
    }

    /// Whether this process's own `Via` pseudonym is in the request: it came back through a
    /// sandbox target that leads to a Porthole listener (this one, or through another instance).
    private func hasLooped() -> Bool {
        guard !loop.viaPseudonym.isEmpty else { return false }
        return headBytes!.withUnsafeReadableBytes { bytes in
            head.fields.contains { $0.kind == .via && ASCII.contains(bytes, $0.value, loop.viaPseudonym) }
        }
    }

    /// Whether this request's Host field is byte for byte the one `target` was parsed from.
    private func hostIsTheLastOne() -> Bool {
        guard target != nil, lastHostGeneration == loop.configurationGeneration, let hostField = head.hostField else {
            return false
        }
        return headBytes!.withUnsafeReadableBytes { bytes in
            let field = head.fields[hostField].value
            return field.count == lastHostField.count && lastHostField.withUnsafeBytes { last in
                memcmp(last.baseAddress!, bytes.baseAddress! + field.lowerBound, field.count) == 0
            }
        }
    }

    /// `GET /healthz` and `/readyz` at the bare base domain, for load balancers that probe the
    /// public listener (answered before any redirect to HTTPS).
    private func answerHealthCheck() -> Bool {
        guard let hostField = head.hostField else { return false }
        let path: Int? = headBytes!.withUnsafeReadableBytes { bytes in
            guard PreviewHost.isBaseDomain(UnsafeRawBufferPointer(rebasing: bytes[head.fields[hostField].value]), baseDomains: loop.configuration.baseDomains)
            else { return nil }
            if ASCII.equalsUppercase(bytes, head.target, "/healthz") { return 0 }
            if ASCII.equalsUppercase(bytes, head.target, "/readyz") { return 1 }
            return nil
        }
        guard let path else { return false }
        decision = .proxy
        if path == 1 && loop.notReady {
            respond(ErrorResponse(status: 503, code: "draining", message: "this instance is draining"))
        } else {
            respond(ErrorResponse(status: 200, code: "ok", message: path == 0 ? "alive" : "ready"))
        }
        return true
    }

    // MARK: - Drain

    /// Called on this loop when the server drains.
    func drain() {
        switch state {
        case .idle where pending == nil:
            closeNow()
        case .tunnel:
            scheduleTunnelClose()
        default:
            closeAfterResponse = true
        }
    }

    func forceClose() {
        closeNow()
    }

    private func scheduleTunnelClose() {
        guard drainTimer == nil else { return }
        drainTimer = context.eventLoop.assumeIsolated().scheduleTask(in: loop.configuration.tunnelGracePeriod) { [self] in
            flushClient()
            closeNow()
        }
    }

    // MARK: - Timer

    private func armTimer(_ amount: TimeAmount, now: NIODeadline = .now()) {
        armTimer(deadline: now + amount)
    }

    private func armTimer(deadline: NIODeadline) {
        timerDeadline = deadline
        if timer == nil || timerDeadline < timerScheduledFor { scheduleTimer() }
    }

    private func disarmTimer() {
        timerDeadline = .distantFuture
    }

    private func scheduleTimer() {
        timer?.cancel()
        timerScheduledFor = timerDeadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: timerDeadline) { [self] in
            timer = nil
            timerScheduledFor = .distantFuture
            guard timerDeadline != .distantFuture else { return }
            if NIODeadline.now() < timerDeadline {
                scheduleTimer()
            } else {
                timerDeadline = .distantFuture
                timedOut()
            }
        }
    }

    private func timedOut() {
        switch state {
        case .idle:
            if let pending, pending.readableBytes > 0 {
                respondAndClose(ErrorResponse(status: 408, code: "request_timeout", message: "the request head did not arrive in time"), html: false)
            } else {
                closeNow()
            }
        case .exchanging where !requestBody.isComplete && bodyDeadline != .distantFuture:
            if clientReadHeld {
                // Not the client's fault: the proxy stopped reading because the sandbox is not
                // taking the body. The clock restarts once reading resumes... or the sandbox answers.
                startBodyClock(now: .now())
            } else if responseHeadDone {
                // The answer is under way: it cannot become a 408 any more, only a cut.
                closeNow()
            } else {
                respondAndClose(ErrorResponse.requestBodyTimeout, html: false)
            }
        case .exchanging where !responseHeadDone:
            respondAndClose(upstreamError(ErrorResponse.upstreamTimeout), html: prefersHTML)
        default:
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
