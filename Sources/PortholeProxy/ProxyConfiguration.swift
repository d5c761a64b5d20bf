public import NIOCore
public import PortholeCore

/// Settings of the data path. Defaults are what `porthole serve` runs with.
public struct ProxyConfiguration: Sendable {
    /// Preview hosts are `<port>-<sandboxId>.<one of these>`.
    public var baseDomains: [String] = ["preview.localhost"]
    /// Ports that always need a token, even on public sandboxes.
    public var reservedPorts: Set<UInt16> = []
    /// Key for the session cookies made by the token-for-cookie exchange; no default, so a
    /// configuration without a valid one cannot be made.
    public var cookieSecret: CookieSecret
    /// Lifetime of a session cookie, seconds.
    public var cookieLifetime: Int64 = 86_400
    /// Request heads larger than this get 431.
    public var maximumHeadBytes = 32 * 1024
    /// A keep-alive client connection with no request in progress is closed after this long.
    public var keepAliveTimeout: TimeAmount = .seconds(75)
    /// A request head must arrive completely within this long of its first byte (slowloris).
    public var headerTimeout: TimeAmount = .seconds(30)
    /// While a request body streams in, the client must keep sending: at most this long without
    /// progress, and over the whole body at least `requestBodyMinimumRate` (408 and both sides
    /// closed otherwise). A body dripped a byte at a time would otherwise pin a client connection
    /// and an upstream connection for as long as the client likes.
    public var requestBodyTimeout: TimeAmount = .seconds(30)
    /// Bytes per second: each body byte that arrives buys `1 / rate` seconds beyond
    /// `requestBodyTimeout` (as Apache's mod_reqtimeout `MinRate`), never more than
    /// `requestBodyTimeout` ahead of now.
    public var requestBodyMinimumRate = 500
    /// The sandbox must start answering within this long of the request being sent (504 after).
    public var upstreamResponseTimeout: TimeAmount = .seconds(60)
    public var upstreamConnectTimeout: TimeAmount = .seconds(5)
    /// A client that takes nothing of what it is sent for this long is cut off (nginx's
    /// `send_timeout`): a TCP window, or an HTTP/2 stream's flow-control window, that stays shut
    /// would otherwise hold its sandbox connection for ever.
    public var sendTimeout: TimeAmount = .seconds(60)
    /// Below Node's 5 s so that the proxy, not the dev server, closes idle connections.
    public var upstreamIdleTimeout: TimeAmount = .seconds(4)
    public var upstreamMaximumIdlePerTarget = 512
    /// `--max-connections-per-sandbox`: the connections to one sandbox that may be open at once
    /// through this process, that is its exchanges in flight (each holds one upstream connection:
    /// requests being answered and open tunnels), before 429; 0 = no cap.
    /// Counted across all event loops, so the cap is exact. Turned on by a reload, it counts only
    /// the exchanges that start after it.
    public var maximumConnectionsPerSandbox = 0
    /// Client connections (all event loops together) before new ones are closed at once; 0 = no cap.
    public var maximumConnections = 0
    /// Where sandbox targets may be (`--allow-target`); checked on every new upstream connection.
    public var upstreamTargets: UpstreamTargetPolicy = .default
    /// Peers whose X-Forwarded-* fields are believed (load balancers); everyone else's are replaced.
    public var trustedProxies: TrustedProxies = .none
    /// One JSON line per request on standard output.
    public var accessLog = true
    /// Sent as `Content-Security-Policy: frame-ancestors …` with every preview response; nil: none
    /// (any site may frame previews).
    public var frameAncestors: FrameAncestors?
    /// The platform's webhook for waking stopped sandboxes; nil: a stopped sandbox answers 503.
    public var wake: WakeSettings?
    /// Compressing responses for clients that accept gzip or deflate.
    public var compression = CompressionSettings()
    /// During a drain, open tunnels (WebSocket) get this long before they are closed.
    public var tunnelGracePeriod: TimeAmount = .seconds(10)

    public init(cookieSecret: CookieSecret) {
        self.cookieSecret = cookieSecret
    }
}

/// How one listener presents itself to sandboxes and in redirects.
public struct ListenerRole: Sendable {
    public enum Mode: Sendable {
        /// TLS terminated here; requests are proxied.
        case https
        /// Plain HTTP, proxied (TLS ended at a load balancer in front).
        case plainProxy
        /// Plain HTTP answered with a redirect to HTTPS.
        case redirectToHTTPS(httpsPort: Int)
    }

    public var mode: Mode
    /// The port clients connect to (for X-Forwarded-Port).
    public var publicPort: Int
    /// Every connection starts with a PROXY protocol v1/v2 header from a load balancer; one
    /// without a valid header is closed.
    public var proxyProtocol: Bool

    public init(mode: Mode, publicPort: Int, proxyProtocol: Bool = false) {
        self.mode = mode
        self.publicPort = publicPort
        self.proxyProtocol = proxyProtocol
    }

    var scheme: StaticString {
        if case .https = mode { return "https" }
        return "http"
    }

    /// The listener as the settings name it (`--https-port`, `--http-port`).
    var settingName: String {
        if case .https = mode { return "https" }
        return "http"
    }
}
