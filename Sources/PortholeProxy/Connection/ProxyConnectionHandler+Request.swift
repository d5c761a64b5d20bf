#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import PortholeCore
import PortholeStore

/// Request heads: parsing, routing by host, the policy lookup and the access decision.
extension ProxyConnectionHandler {
    /// Parses the next request head out of `pending`, if it is complete, and starts its exchange.
    func processPending(now: NIODeadline) {
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
        // The field array is the loop's, lent for this exchange and given back when it ends.
        var head = RequestHead()
        head.fields = loop.takeFieldArray()
        do {
            try headSlice.withUnsafeReadableBytes { bytes in try head.parse(bytes, end: end) }
        } catch let error as HTTPParseError {
            loop.giveBack(fields: &head.fields)
            let response =
                error.status == 400
                ? ErrorResponse.badRequest(error.description)
                : ErrorResponse(status: error.status, code: error.code, message: error.description)
            respondAndClose(response, html: false)
            return
        } catch {
            loop.giveBack(fields: &head.fields)
            respondAndClose(ErrorResponse.badRequest("malformed request"), html: false)
            return
        }
        switch headSlice.withUnsafeReadableBytes({ RequestTargetCheck.check(head, $0) }) {
        case .accept:
            break
        case .acceptOriginForm(let path):
            head.target = path
        case .refuse(let response):
            loop.giveBack(fields: &head.fields)
            // The body, if any, was not read: the connection cannot carry another request.
            respondAndClose(response, html: false)
            return
        }
        exchange = Exchange(
            head: head, headBytes: headSlice, started: now, closeAfterResponse: head.wantsClose || loop.draining || isHTTP2Stream
        )
        disarmTimer()
        route()
    }

    /// Finds the sandbox this request is for and looks up its policy.
    private func route() {
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
        let target: PreviewHost
        if sameHost, let lastTarget {
            target = lastTarget
        } else {
            switch parseHost() {
            case .failure(let error):
                respond(ErrorResponse.badHost(error.message))
                return
            case .success(let host):
                target = host
            }
        }
        exchange.target = target
        switch loop.policies.lookup(target.sandboxID, on: loop.eventLoop) {
        case .found(let policy):
            authorize(policy, target: target)
        case .notFound:
            respond(ErrorResponse.sandboxNotFound(target.sandboxID))
        case .pending(let future):
            state = .awaitingPolicy
            future.assumeIsolated().whenComplete { [self] result in
                guard state == .awaitingPolicy else { return }
                state = .idle
                exchange.policyLoadedLater = true
                switch result {
                case .success(let policy?): authorize(policy, target: target)
                case .success(nil): respond(ErrorResponse.sandboxNotFound(target.sandboxID))
                case .failure: respond(ErrorResponse.storeUnavailable)
                }
            }
        }
    }

    /// The Host field as a preview host; remembered, with its bytes, when it names one.
    private func parseHost() -> Result<PreviewHost, PreviewHostError> {
        return withRequestHead { head, bytes in
            guard let hostField = head.hostField else {
                return PreviewHost.parse(UnsafeRawBufferPointer(start: nil, count: 0), baseDomains: loop.configuration.baseDomains)
            }
            let field = UnsafeRawBufferPointer(rebasing: bytes[head.fields[hostField].value])
            let parsed = PreviewHost.parse(field, baseDomains: loop.configuration.baseDomains)
            switch parsed {
            case .success(let host):
                lastTarget = host
                lastHostField = Array(field)
                lastHostGeneration = loop.configurationGeneration
            case .failure:
                // Not the previous host either (nor logged as it).
                lastTarget = nil
            }
            return parsed
        }
    }

    /// Each preview-token query parameter with the text that finds it in a target (made once).
    private static let previewTokenNeedles = QueryString.previewTokenParameters.map { ($0, $0 + "=") }

    /// Applies the access decision, then forwards, redirects or refuses.
    private func authorize(_ policy: SandboxPolicy, target: PreviewHost) {
        exchange.policy = policy
        var strippedTarget: String? = nil
        var preflight: CORSPreflight? = nil
        let request: AccessRequest = withRequestHead { head, bytes in
            var headerToken: String? = nil
            var sessionCookies: [String] = []
            var preflightMethod: Range<Int>? = nil
            var hints = head.startHints()
            for field in head.fields {
                switch field.kind {
                case .previewToken where headerToken == nil:
                    headerToken = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self)
                case .cookie where ASCII.contains(bytes, field.value, PreviewSessionCookie.name):
                    let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self)
                    sessionCookies += CookieHeader.values(name: PreviewSessionCookie.name, in: value).map(String.init)
                case .accessControlRequestMethod where head.isOPTIONS: preflightMethod = field.value
                default: hints.read(field, in: bytes)
                }
            }
            if preflightMethod != nil {
                preflight = makePreflight(head, bytes, sandboxID: target.sandboxID)
                hints.isPreflight = preflight != nil
            }
            var queryToken: String? = nil
            // `preview_token`, or Daytona's name for it (its SDK's links carry that one); only a
            // target with a query can hold either, and most have none.
            let hasQuery = bytes[head.target].contains(UInt8(ascii: "?"))
            if hasQuery {
                for (name, needle) in Self.previewTokenNeedles where ASCII.contains(bytes, head.target, needle) {
                    let rawTarget = strippedTarget ?? String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.target]), as: UTF8.self)
                    let stripped = QueryString.removingParameter(name, from: rawTarget)
                    if let value = stripped.value {
                        // Both names are taken out; the first one given is the token.
                        if queryToken == nil { queryToken = value }
                        strippedTarget = stripped.target
                    }
                }
            }
            var request = AccessRequest(
                port: target.port,
                headerToken: headerToken,
                queryToken: queryToken,
                sessionCookies: sessionCookies,
                kind: hints.kind,
                now: Int64(time(nil))
            )
            request.isCrossSiteFrame = hints.isCrossSiteFrame
            return request
        }
        let decision = AccessDecision.decide(policy: policy, request: request, rules: loop.accessRules)
        if policy.state == .stopped, let wake = loop.wake,
            wakes(AccessDecision.decide(policy: policy, request: request, rules: loop.accessRules, ignoringStoppedState: true))
        {
            // A request that would be let in: ask the platform to start the sandbox. A browser page
            // load gets a page that reloads itself; anything else waits for the sandbox.
            wake.wake(sandboxID: policy.id, port: target.port, now: now)
            exchange.decision = .denied
            if request.kind == .navigation {
                respond(ErrorResponse.sandboxStarting(policy.id))
            } else {
                holdUntilStarted(policy.id, limit: wake.settings.holdTimeout)
            }
            return
        }
        switch decision {
        case .allow(let grant):
            exchange.decision = Self.metricsDecision(grant)
            // Counted only once the request is allowed: unauthenticated requests never take a
            // sandbox's places, nor learn whether it is busy.
            let sandboxCap = loop.configuration.maximumConnectionsPerSandbox
            if sandboxCap > 0 && exchange.countedSandbox == nil {
                guard loop.limits.startExchange(with: target.sandboxID, cap: sandboxCap) else {
                    respond(
                        ErrorResponse(
                            status: 429, code: "too_many_connections",
                            message: "sandbox \(target.sandboxID) has too many open connections through this proxy; retry shortly"
                        ))
                    return
                }
                exchange.countedSandbox = target.sandboxID
            }
            exchange.strippedTarget = strippedTarget
            forward(policy: policy, target: target)
        case .exchangeTokenForCookie(let setCookie):
            exchange.decision = .queryToken
            redirectWithCookie(location: SameOriginLocation.path(from: strippedTarget ?? "/"), setCookie: setCookie)
        case .answerPreflight:
            exchange.decision = .preflight
            // `.answerPreflight` is only decided for a request classified as a preflight.
            answer(preflight!)
        case .deny(let denial):
            exchange.decision = .denied
            respond(ErrorResponse(status: denial.status, code: denial.code, message: denial.message))
        }
    }

    /// Whether a decision taken as if the sandbox ran lets the request in (so it may wake it).
    private func wakes(_ decision: AccessDecision) -> Bool {
        switch decision {
        case .allow, .exchangeTokenForCookie: true
        case .answerPreflight, .deny: false
        }
    }

    /// Holds the request until the sandbox's record changes (the change feed), then routes it
    /// again; past `limit` since it was first held, 503.
    private func holdUntilStarted(_ sandboxID: String, limit: TimeAmount) {
        let deadline = exchange.wakeDeadline ?? now + limit
        exchange.wakeDeadline = deadline
        let remaining = deadline - now
        guard remaining > .zero else {
            respond(ErrorResponse.sandboxDidNotStart(sandboxID, seconds: limit.nanoseconds / 1_000_000_000))
            return
        }
        state = .awaitingPolicy
        loop.policies.nextChange(of: sandboxID, on: loop.eventLoop, within: remaining).assumeIsolated().whenComplete { [self] _ in
            // The same request still waiting (not closed, not replaced).
            guard state == .awaitingPolicy, exchange.wakeDeadline == deadline else { return }
            state = .idle
            route()
        }
    }

    /// The request as a CORS preflight, when it is a well-formed one (``CORSPreflight``).
    private func makePreflight(_ head: RequestHead, _ bytes: UnsafeRawBufferPointer, sandboxID: String) -> CORSPreflight? {
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

    /// Whether this process's own `Via` pseudonym is in the request: it came back through a
    /// sandbox target that leads to a Porthole listener (this one, or through another instance).
    private func hasLooped() -> Bool {
        guard !loop.viaPseudonym.isEmpty else { return false }
        return withRequestHead { head, bytes in
            head.fields.contains { $0.kind == .via && ASCII.contains(bytes, $0.value, loop.viaPseudonym) }
        }
    }

    /// Whether this request's Host field is byte for byte the one `lastTarget` was parsed from.
    private func hostIsTheLastOne() -> Bool {
        guard lastTarget != nil, lastHostGeneration == loop.configurationGeneration, let hostField = exchange.head.hostField else {
            return false
        }
        return withRequestHead { head, bytes in
            let field = head.fields[hostField].value
            return field.count == lastHostField.count
                && lastHostField.withUnsafeBytes { last in
                    memcmp(last.baseAddress!, bytes.baseAddress! + field.lowerBound, field.count) == 0
                }
        }
    }

    /// `GET /healthz` and `/readyz` at the bare base domain, for load balancers that probe the
    /// public listener (answered before any redirect to HTTPS).
    private func answerHealthCheck() -> Bool {
        guard let hostField = exchange.head.hostField else { return false }
        let path: Int? = withRequestHead { head, bytes in
            guard PreviewHost.isBaseDomain(UnsafeRawBufferPointer(rebasing: bytes[head.fields[hostField].value]), baseDomains: loop.configuration.baseDomains)
            else { return nil }
            if ASCII.equalsUppercase(bytes, head.target, "/healthz") { return 0 }
            if ASCII.equalsUppercase(bytes, head.target, "/readyz") { return 1 }
            return nil
        }
        guard let path else { return false }
        exchange.decision = .proxy
        if path == 1 && loop.notReady {
            respond(ErrorResponse(status: 503, code: "draining", message: "this instance is draining"))
        } else {
            respond(ErrorResponse(status: 200, code: "ok", message: path == 0 ? "alive" : "ready"))
        }
        return true
    }
}
