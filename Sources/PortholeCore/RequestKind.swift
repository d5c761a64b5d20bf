/// What kind of request the browser (or tool) is making, as far as authorisation cares.
public enum RequestKind: Sendable, Hashable {
    /// A browser page load: the only kind that may be redirected to trade a query token for a cookie.
    case navigation
    /// A well-formed CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`,
    /// no body: ``CORSPreflight``). Browsers never attach credentials to it (Fetch standard,
    /// "CORS-preflight request"). An `OPTIONS` that is not well formed is `.other`.
    case preflight
    /// A protocol upgrade (WebSocket or any other `Upgrade`); a redirect would break the handshake.
    case upgrade
    /// Everything else: `fetch`/XHR, curl, API clients.
    case other
}
