/// What the proxy counts for every exchange, kept by each event loop in plain integers: a request
/// then costs a few additions instead of atomics and two histogram locks shared by all loops.
/// `ProxyServer.renderMetrics()` reads every loop's counters on that loop and adds them up.
///
/// Not thread-safe: one per event loop, touched only there.
final class ExchangeCounters {
    private(set) var totals = Totals()

    init() {}

    @inline(__always)
    func countRequest(_ decision: ProxyMetrics.Decision, status: Int, bytesToClient: Int, durationNanoseconds: Int64) {
        let statusClass = min(max(status / 100, 1), 5)
        totals.requests[decision.rawValue &* 5 &+ statusClass &- 1] &+= 1
        totals.requestDuration.record(nanoseconds: durationNanoseconds)
        totals.bytesToClients &+= bytesToClient
    }

    @inline(__always)
    func countUpstreamResponse(durationNanoseconds: Int64) {
        totals.upstreamDuration.record(nanoseconds: durationNanoseconds)
    }

    @inline(__always)
    func countUpstreamLease(reused: Bool) {
        if reused { totals.upstreamReuses &+= 1 } else { totals.upstreamConnects &+= 1 }
    }

    /// The counters of one loop, or of all of them added up.
    struct Totals: Sendable, Equatable {
        /// `[decision.rawValue * 5 + status class - 1]`, status classes 1xx…5xx.
        fileprivate(set) var requests = [Int](repeating: 0, count: ProxyMetrics.Decision.allCases.count * 5)
        fileprivate(set) var requestDuration = LoopHistogram()
        fileprivate(set) var upstreamDuration = LoopHistogram()
        fileprivate(set) var bytesToClients = 0
        fileprivate(set) var upstreamReuses = 0
        fileprivate(set) var upstreamConnects = 0

        init() {}

        func requests(_ decision: ProxyMetrics.Decision, statusClass: Int) -> Int {
            requests[decision.rawValue * 5 + statusClass - 1]
        }

        mutating func add(_ other: Totals) {
            for index in requests.indices { requests[index] &+= other.requests[index] }
            requestDuration.add(other.requestDuration)
            upstreamDuration.add(other.upstreamDuration)
            bytesToClients &+= other.bytesToClients
            upstreamReuses &+= other.upstreamReuses
            upstreamConnects &+= other.upstreamConnects
        }

        /// The Prometheus text exposition of these series (the names they always had).
        func render() -> String {
            var text = "# HELP porthole_requests_total Requests answered, by access decision and status class.\n"
            text += "# TYPE porthole_requests_total counter\n"
            for decision in ProxyMetrics.Decision.allCases {
                for statusClass in 1...5 {
                    let value = requests(decision, statusClass: statusClass)
                    text += "porthole_requests_total{decision=\"\(decision.label)\",status=\"\(statusClass)xx\"} \(value)\n"
                }
            }
            text += requestDuration.render(
                name: "porthole_request_duration_seconds",
                help: "Time from a complete request head to the end of the response."
            )
            text += upstreamDuration.render(
                name: "porthole_upstream_response_duration_seconds",
                help: "Time from sending a request upstream to its response head."
            )
            func counter(_ name: String, _ help: String, _ value: Int) {
                text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
            }
            counter("porthole_client_sent_bytes_total", "Bytes written to clients (before TLS).", bytesToClients)
            counter("porthole_upstream_reuses_total", "Requests sent on a pooled keep-alive connection.", upstreamReuses)
            counter("porthole_upstream_connects_total", "New connections to sandboxes.", upstreamConnects)
            return text
        }
    }
}

@available(*, unavailable)
extension ExchangeCounters: Sendable {}
