public import Prometheus

/// The data path's Prometheus metrics. Every series the hot path touches is created up front and
/// indexed by small enums, so recording is an atomic add (or one uncontended lock for histograms),
/// never a label lookup.
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
    /// `[decision][status class 1…5]`
    private let requests: [[Counter]]
    let requestDuration: DurationHistogram
    let upstreamDuration: DurationHistogram
    let upstreamConnects: Counter
    let upstreamConnectFailures: Counter
    let upstreamReuses: Counter
    let upstreamRetries: Counter
    let activeConnections: Gauge
    let activeTunnels: Gauge
    let connectionsAccepted: Counter
    let bytesFromClients: Counter
    let bytesToClients: Counter
    let tlsHandshakes: Counter
    let tlsFailures: Counter
    public let reloads: Counter
    public let reloadFailures: Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let buckets: [Duration] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        requests = Decision.allCases.map { decision in
            (1...5).map { statusClass in
                registry.makeCounter(
                    descriptor: .init(
                        namespace: "porthole", metricName: "requests", unitName: "total",
                        helpText: "Requests answered, by access decision and status class."
                    ),
                    labels: [("decision", decision.label), ("status", "\(statusClass)xx")]
                )
            }
        }
        requestDuration = registry.makeDurationHistogram(
            descriptor: .init(namespace: "porthole", metricName: "request_duration", unitName: "seconds", helpText: "Time from a complete request head to the end of the response."),
            buckets: buckets
        )
        upstreamDuration = registry.makeDurationHistogram(
            descriptor: .init(namespace: "porthole", metricName: "upstream_response_duration", unitName: "seconds", helpText: "Time from sending a request upstream to its response head."),
            buckets: buckets
        )
        upstreamConnects = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "upstream_connects", unitName: "total", helpText: "New connections to sandboxes.")
        )
        upstreamConnectFailures = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "upstream_connect_failures", unitName: "total", helpText: "Connections to sandboxes that failed (refused, timed out).")
        )
        upstreamReuses = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "upstream_reuses", unitName: "total", helpText: "Requests sent on a pooled keep-alive connection.")
        )
        upstreamRetries = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "upstream_retries", unitName: "total", helpText: "Safe requests retried after a pooled connection turned out closed.")
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
        bytesToClients = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "client_sent_bytes", unitName: "total", helpText: "Bytes written to clients (before TLS).")
        )
        tlsHandshakes = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "tls_handshakes", unitName: "total", helpText: "Completed TLS handshakes.")
        )
        tlsFailures = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "tls_failures", unitName: "total", helpText: "TLS connections that failed (handshake or protocol errors).")
        )
        reloads = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "reloads", unitName: "total", helpText: "Successful certificate or configuration reloads.")
        )
        reloadFailures = registry.makeCounter(
            descriptor: .init(namespace: "porthole", metricName: "reload_failures", unitName: "total", helpText: "Reloads refused; the previous state stayed in use.")
        )
    }

    @inline(__always)
    func countRequest(_ decision: Decision, status: Int) {
        let statusClass = min(max(status / 100, 1), 5)
        requests[decision.rawValue][statusClass - 1].increment()
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> String {
        registry.emitToString()
    }
}
