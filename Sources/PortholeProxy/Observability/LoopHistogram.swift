/// A latency histogram kept by one event loop: plain integers, so recording costs no lock or
/// atomic. The loops' histograms are merged and rendered in Prometheus text when scraped.
struct LoopHistogram: Sendable, Equatable {
    /// Bucket upper bounds in nanoseconds, ascending: 1 ms … 10 s (the `le` labels).
    static let boundsNanoseconds: [Int64] = [
        1_000_000, 2_000_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000,
        250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000,
    ]

    /// Observations per bucket, not cumulative; the last one is above every bound (`+Inf`).
    private(set) var counts = [Int](repeating: 0, count: boundsNanoseconds.count + 1)
    private(set) var sumNanoseconds: Int64 = 0

    var count: Int { counts.reduce(0, &+) }

    /// Counts one observation; a negative duration (a clock step) counts as zero.
    mutating func record(nanoseconds: Int64) {
        let value = max(nanoseconds, 0)
        var bucket = 0
        let bounds = Self.boundsNanoseconds
        while bucket < bounds.count && value > bounds[bucket] { bucket &+= 1 }
        counts[bucket] &+= 1
        sumNanoseconds &+= value
    }

    mutating func add(_ other: LoopHistogram) {
        for index in counts.indices { counts[index] &+= other.counts[index] }
        sumNanoseconds &+= other.sumNanoseconds
    }

    /// The Prometheus text exposition (format 0.0.4) of a histogram in seconds named `name`.
    func render(name: String, help: String) -> String {
        var text = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (index, bound) in Self.boundsNanoseconds.enumerated() {
            cumulative &+= counts[index]
            text += "\(name)_bucket{le=\"\(Self.seconds(bound))\"} \(cumulative)\n"
        }
        cumulative &+= counts[Self.boundsNanoseconds.count]
        text += "\(name)_bucket{le=\"+Inf\"} \(cumulative)\n"
        text += "\(name)_sum \(Self.seconds(sumNanoseconds))\n"
        text += "\(name)_count \(cumulative)\n"
        return text
    }

    private static func seconds(_ nanoseconds: Int64) -> String {
        String(Double(nanoseconds) / 1e9)
    }
}
