@testable import PortholeProxy
import Testing

/// The per-loop request counters and latency histograms, and the Prometheus text they become.
@Suite struct ExchangeCountersTests {
    private static let millisecond: Int64 = 1_000_000

    @Test(arguments: [
        // A bound belongs to its own bucket (Prometheus `le` is "less than or equal").
        (Int64(0), 0), (1_000_000, 0), (1_000_001, 1), (2_000_000, 1), (9_999_999, 3),
        (10_000_000_000, 12), (10_000_000_001, 13), (-5, 0),
    ])
    func observationsLandInTheFirstBucketWhoseBoundTheyDoNotExceed(_ nanoseconds: Int64, _ bucket: Int) {
        var histogram = LoopHistogram()
        histogram.record(nanoseconds: nanoseconds)
        var expected = [Int](repeating: 0, count: LoopHistogram.boundsNanoseconds.count + 1)
        expected[bucket] = 1
        #expect(histogram.counts == expected)
        #expect(histogram.sumNanoseconds == max(nanoseconds, 0))
    }

    @Test func rendersCumulativeBucketsSumAndCount() {
        var histogram = LoopHistogram()
        for value in [Self.millisecond / 2, 3 * Self.millisecond, 3 * Self.millisecond, 20_000 * Self.millisecond] {
            histogram.record(nanoseconds: value)
        }
        let lines = histogram.render(name: "x_seconds", help: "Help.").split(separator: "\n").map(String.init)
        #expect(lines[0] == "# HELP x_seconds Help.")
        #expect(lines[1] == "# TYPE x_seconds histogram")
        #expect(lines[2] == #"x_seconds_bucket{le="0.001"} 1"#)
        #expect(lines[3] == #"x_seconds_bucket{le="0.002"} 1"#)
        #expect(lines[4] == #"x_seconds_bucket{le="0.005"} 3"#)
        #expect(lines[14] == #"x_seconds_bucket{le="10.0"} 3"#)
        #expect(lines[15] == #"x_seconds_bucket{le="+Inf"} 4"#)
        #expect(lines[16] == "x_seconds_sum 20.0065")
        #expect(lines[17] == "x_seconds_count 4")
        #expect(lines.count == 18)
    }

    @Test func loopsAddUp() {
        let first = ExchangeCounters()
        let second = ExchangeCounters()
        first.countRequest(.publicAccess, status: 200, bytesToClient: 100, durationNanoseconds: Self.millisecond)
        first.countRequest(.denied, status: 401, bytesToClient: 10, durationNanoseconds: Self.millisecond)
        second.countRequest(.publicAccess, status: 204, bytesToClient: 5, durationNanoseconds: 3 * Self.millisecond)
        first.countUpstreamLease(reused: true)
        second.countUpstreamLease(reused: false)
        second.countUpstreamResponse(durationNanoseconds: Self.millisecond)

        var totals = first.totals
        totals.add(second.totals)
        #expect(totals.requests(.publicAccess, statusClass: 2) == 2)
        #expect(totals.requests(.denied, statusClass: 4) == 1)
        #expect(totals.requests(.publicAccess, statusClass: 4) == 0)
        #expect(totals.requestDuration.count == 3)
        #expect(totals.upstreamDuration.count == 1)
        #expect(totals.bytesToClients == 115)
        #expect(totals.upstreamReuses == 1)
        #expect(totals.upstreamConnects == 1)
    }

    @Test(arguments: [(0, 1), (99, 1), (101, 1), (200, 2), (302, 3), (404, 4), (502, 5), (999, 5)])
    func statusesOutsideTheClassesAreClamped(_ status: Int, _ statusClass: Int) {
        let counters = ExchangeCounters()
        counters.countRequest(.error, status: status, bytesToClient: 0, durationNanoseconds: 0)
        #expect(counters.totals.requests(.error, statusClass: statusClass) == 1)
    }

    @Test func exposesEverySeriesUnderItsName() {
        let counters = ExchangeCounters()
        counters.countRequest(.token, status: 200, bytesToClient: 42, durationNanoseconds: Self.millisecond)
        let text = counters.totals.render()
        #expect(text.contains("# TYPE porthole_requests_total counter\n"))
        #expect(text.contains(#"porthole_requests_total{decision="token",status="2xx"} 1"#))
        #expect(text.contains(#"porthole_requests_total{decision="public",status="5xx"} 0"#))
        #expect(text.contains("# TYPE porthole_request_duration_seconds histogram\n"))
        #expect(text.contains("# TYPE porthole_upstream_response_duration_seconds histogram\n"))
        #expect(text.contains("porthole_client_sent_bytes_total 42\n"))
        #expect(text.contains("porthole_upstream_reuses_total 0\n"))
        #expect(text.contains("porthole_upstream_connects_total 0\n"))
        // Every series line is `name{labels} value` or `name value`.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").count == 2, "\(line)")
        }
    }
}
