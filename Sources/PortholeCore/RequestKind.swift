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

    /// Classifies a request from its head. Header values are passed as received (`nil` when absent).
    ///
    /// Only `GET` and `HEAD` count as navigations: the token-for-cookie redirect replays the request
    /// as a `GET`, which would drop the body of a form `POST` sent with `Sec-Fetch-Mode: navigate`.
    /// When `Sec-Fetch-Mode` is present it is trusted over `Accept`, since `fetch()` calls can ask for
    /// `text/html` too; the `Accept` heuristic is for browsers that predate Fetch Metadata.
    public static func classify(
        method: String,
        upgrade: String?,
        accessControlRequestMethod: String?,
        secFetchMode: String?,
        accept: String?
    ) -> RequestKind {
        if let upgrade, !upgrade.isEmpty { return .upgrade }
        if method == "OPTIONS", accessControlRequestMethod != nil { return .preflight }
        guard method == "GET" || method == "HEAD" else { return .other }
        if let secFetchMode {
            return asciiLowercased(secFetchMode) == "navigate" ? .navigation : .other
        }
        if let accept, asciiLowercased(accept).contains("text/html") { return .navigation }
        return .other
    }

    private static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
