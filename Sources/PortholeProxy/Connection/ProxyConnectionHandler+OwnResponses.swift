import NIOCore
import PortholeCore

/// The proxy's own answers (``OwnResponse`` writes their bytes): errors, the token-for-cookie
/// redirect, preflight answers and the redirect to HTTPS. Each ends its exchange.
extension ProxyConnectionHandler {
    /// Fills in which sandbox and port an upstream error is about.
    func upstreamError(_ make: (UInt16, String) -> ErrorResponse) -> ErrorResponse {
        make(exchange.target?.port ?? 0, exchange.policy?.id ?? exchange.target?.sandboxID ?? "")
    }

    /// Whether the client wants an HTML error page (``RequestHints/prefersHTML``).
    var prefersHTML: Bool {
        withRequestHead { head, bytes in head.hints(bytes).prefersHTML }
    }

    /// Answers the current request with the proxy's own response; the connection stays when the
    /// exchange ``Exchange/keepsAlive`` (the request carried no body that was left unread).
    func respond(_ error: ErrorResponse) {
        if exchange.decision != .denied && exchange.decision != .proxy { exchange.decision = .error }
        let keepAlive = exchange.keepsAlive && !loop.draining
        let buffer = OwnResponse.error(
            error, html: prefersHTML, close: !keepAlive, withBody: !exchange.head.isHEAD,
            extraFields: loop.configuration.frameAncestors?.fieldLine, allocator: allocator
        )
        sendOwnResponse(buffer, status: error.status, keepAlive: keepAlive)
    }

    /// Answers with `error` and closes, whatever the request: what follows it cannot be trusted.
    func respondAndClose(_ error: ErrorResponse, html: Bool) {
        guard state != .closing else { return }
        if exchange.decision != .denied && exchange.decision != .proxy { exchange.decision = .error }
        let buffer = OwnResponse.error(
            error, html: html, close: true, withBody: !exchange.head.isHEAD, extraFields: loop.configuration.frameAncestors?.fieldLine,
            allocator: allocator)
        sendOwnResponse(buffer, status: error.status, keepAlive: false)
    }

    func redirectWithCookie(location: String, setCookie: String) {
        let keepAlive = exchange.keepsAlive && !loop.draining
        let buffer = OwnResponse.redirectWithCookie(
            location: location, setCookie: setCookie, close: !keepAlive, extraFields: loop.configuration.frameAncestors?.fieldLine,
            allocator: allocator)
        sendOwnResponse(buffer, status: 302, keepAlive: keepAlive)
    }

    func answer(_ preflight: CORSPreflight) {
        let keepAlive = exchange.keepsAlive && !loop.draining
        let buffer = OwnResponse.preflight(preflight.responseFields, close: !keepAlive, allocator: allocator)
        sendOwnResponse(buffer, status: 204, keepAlive: keepAlive)
    }

    func redirectToHTTPS(httpsPort: Int) {
        let host: String? = withRequestHead { head, bytes in
            guard let hostField = head.hostField, RequestTargetCheck.isValidHost(bytes, head.fields[hostField].value) else { return nil }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.fields[hostField].value]), as: UTF8.self)
        }
        guard let host else {
            // Copied into `Location`, a Host such as `evil.example/x?` or `a@b` would send the client elsewhere.
            respond(ErrorResponse.badHost("the Host field is not a host name (with an optional port)"))
            return
        }
        let target = withRequestHead { head, bytes in
            String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.target]), as: UTF8.self)
        }
        exchange.decision = .proxy
        let keepAlive = exchange.keepsAlive && !loop.draining
        let location = OwnResponse.httpsLocation(host: host, httpsPort: httpsPort, target: target)
        sendOwnResponse(OwnResponse.redirectToHTTPS(location: location, close: !keepAlive, allocator: allocator), status: 308, keepAlive: keepAlive)
    }

    /// Sends a complete response of the proxy's own, records the exchange, and takes the next
    /// request or closes.
    private func sendOwnResponse(_ buffer: ByteBuffer, status: Int, keepAlive: Bool) {
        exchange.responseStatus = status
        releaseSandboxCount()
        exchange.bytesToClient &+= buffer.readableBytes
        writeToClient(buffer)
        recordExchange(status: status, now: now)
        flushClient()
        if keepAlive {
            returnToIdle(now: now)
        } else {
            closeNow()
        }
    }
}
