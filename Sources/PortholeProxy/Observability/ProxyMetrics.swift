public import Prometheus

/// The proxy's Prometheus metrics that change per connection or per event (connections, TLS,
/// upstream failures, reloads). What changes with every request is counted per event loop
/// instead (`ExchangeCounters`) and added to the exposition by `ProxyServer.renderMetrics()`.
public final class ProxyMetrics: Sendable {
    /// How a request was let through or why not; one `decision` label value each.
    public enum Decision: Int, CaseIterable, Sendable {
        case publicAccess, token, cookie, queryToken, signedURL, preflight, denied, error, proxy

        var label: String {
            switch self {
            case .publicAccess: "public"
            case .token: "token"
            case .cookie: "cookie"
            case .queryToken: "query_token"
            case .signedURL: "signed_url"
            case .preflight: "preflight"
            case .denied: "denied"
            case .error: "error"
            // Answered by the proxy itself on purpose: health checks, redirects to HTTPS.
            case .proxy: "proxy"
            }
        }
    }

    public let registry: PrometheusCollectorRegistry
    let upstreamConnectFailures: Counter
    let upstreamRetries: Counter
    let activeConnections: Gauge
    let activeTunnels: Gauge
    let connectionsAccepted: Counter
    let bytesFromClients: Counter
    let tlsHandshakes: Counter
    let tlsFailures: Counter
    let sendTimeouts: Counter
    let http2Connections: Counter
    let http2Streams: Counter
    public let reloads: Counter
    public let reloadFailures: Counter
    let acceptFailures: Counter
    let connectionsOverLimit: Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        upstreamConnectFailures = registry.makeCounter(
            descriptor: .init(
                namespace: "porthole", metricName: "upstream_connect_failures", unitName: "total",
                helpText: "Connections to sandboxes that failed (refused, timed out).")
        )
        upstreamRetries = registry.makeCounter(
            descriptor: .init(
                namespace: "porthole", metricName: "upstream_retries", unitName: "total",
                helpText: "Safe requests retried after a pooled connection turned out closed.")
        )
        activeConnections = registry.makeGauge(
            descriptor: .init(namespace: "porthole", metricName: "client_connections", unitName: "", helpText: "Open client connections.")
        )
        activeTunnels = registry.makeGauge(
            descriptor: .init(namespace: "porthole", metricName: "tunnels", unitName: "", helpText: "Open upgraded (WebSocket) tunnels.")
        )
        connectionsAccepted = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "client_connections", unitName: "total", helpText: "Client connections accepted.")
        )
        bytesFromClients = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "client_received_bytes", unitName: "total", helpText: "Bytes read from clients (after TLS).")
        )
        tlsHandshakes = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "tls_handshakes", unitName: "total", helpText: "Completed TLS handshakes.")
        )
        tlsFailures = registry.makeCounter(
            descriptor: .init(
                namespace: "porthole", metricName: "tls_failures", unitName: "total", helpText: "TLS connections that failed (handshake or protocol errors).")
        )
        sendTimeouts = registry.makeCounter(
            descriptor: .init(
                namespace: "porthole", metricName: "client_send_timeouts", unitName: "total",
                helpText: "Clients (or HTTP/2 streams) cut off because they took nothing for --send-timeout.")
        )
        http2Connections = registry.makeCounter(
            descriptor: .init(
                namespace: "porthole", metricName: "http2_connections", unitName: "total", helpText: "Client connections that chose HTTP/2 (ALPN h2).")
        )
        http2Streams = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "http2_streams", unitName: "total", helpText: "HTTP/2 streams opened by clients.")
        )
        reloads = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "reloads", unitName: "total", helpText: "Successful certificate or configuration reloads.")
        )
        reloadFailures = registry.makeCounter(
            descriptor: .init(
                namespace: "porthole", metricName: "reload_failures", unitName: "total", helpText: "Reloads refused; the previous state stayed in use.")
        )
        acceptFailures = registry.makeCounter(
            descriptor: .init(
                namespace: "porthole", metricName: "accept_failures", unitName: "total",
                helpText: "Accepted connections closed because setting them up failed (logged).")
        )
        connectionsOverLimit = registry.makeCounter(
            descriptor: .init(
                namespace: "porthole", metricName: "connections_over_limit", unitName: "total",
                helpText: "Connections closed at once because --max-connections was reached.")
        )
    }

    /// The Prometheus text exposition of these metrics (`ProxyServer.renderMetrics()` adds the per-loop ones).
    public func render() -> String {
        registry.emitToString()
    }
}
