public import NIOCore

/// Settings of the data path. Defaults are what `porthole serve` runs with.
public struct ProxyConfiguration: Sendable {
    /// Preview hosts are `<port>-<sandboxId>.<one of these>`.
    public var baseDomains: [String] = ["preview.localhost"]
    /// Ports that always need a token, even on public sandboxes.
    public var reservedPorts: Set<UInt16> = []
    /// Key for the session cookies made by the token-for-cookie exchange.
    public var cookieSecret: [UInt8] = []
    /// Lifetime of a session cookie, seconds.
    public var cookieLifetime: Int64 = 86_400
    /// Request heads larger than this get 431.
    public var maximumHeadBytes = 32 * 1024
    /// A keep-alive client connection with no request in progress is closed after this long.
    public var keepAliveTimeout: TimeAmount = .seconds(75)
    /// A request head must arrive completely within this long of its first byte (slowloris).
    public var headerTimeout: TimeAmount = .seconds(30)
    /// The sandbox must start answering within this long of the request being sent (504 after).
    public var upstreamResponseTimeout: TimeAmount = .seconds(60)
    public var upstreamConnectTimeout: TimeAmount = .seconds(5)
    /// Below Node's 5 s so that the proxy, not the dev server, closes idle connections.
    public var upstreamIdleTimeout: TimeAmount = .seconds(4)
    public var upstreamMaximumIdlePerTarget = 512

    public init() {}
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

    public init(mode: Mode, publicPort: Int) {
        self.mode = mode
        self.publicPort = publicPort
    }

    var scheme: StaticString {
        if case .https = mode { return "https" }
        return "http"
    }
}
