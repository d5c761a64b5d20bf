import Benchmark

/// The tolerances that decide whether a run is a regression: `thresholds check` compares the run's p90
/// with the p90 stored in `Thresholds/`, `baseline check` compares two runs percentile by percentile.
/// A metric left out here would be checked with ordo-one's `.strict` (no deviation at all).
enum HotPathThresholds {
    /// Every measured metric.
    static var all: [BenchmarkMetric: BenchmarkThresholds] {
        [.wallClock: wallClock, .throughput: throughput, .mallocCountTotal: allocations]
    }

    /// The time gate of `thresholds check`: the wall clock's p90, the slow tail of a run, which is where
    /// the shared 2-core machine shows. Five 2-second runs of one build differed by up to 15% there
    /// (MICRO.md), so ±25%; the middle of a run is steadier, ±15% for `baseline check` between two runs.
    static var wallClock: BenchmarkThresholds {
        BenchmarkThresholds(relative: [.p25: 15, .p50: 15, .p75: 15, .p90: 25])
    }

    /// Throughput is 10⁹ / wall clock of the same iterations. Nothing at p90: benchmark 1.38.1's
    /// `thresholds update` stores its fast end (`valueAtPercentile(90)`) but `thresholds check` compares
    /// its slow end (percentiles are reversed for larger-is-better metrics), which made an unchanged
    /// build of `RequestHead.parse` read as 20% slower. The middle is for `baseline check`.
    static var throughput: BenchmarkThresholds {
        BenchmarkThresholds(relative: [.p25: 15, .p50: 15, .p75: 15])
    }

    /// Allocation counts are exact and do not depend on the load: one more malloc per 1,000 calls fails the
    /// check, one fewer is reported as an improvement (exit code 4) until the thresholds are updated.
    static var allocations: BenchmarkThresholds {
        BenchmarkThresholds(absolute: [.p25: 0, .p50: 0, .p75: 0, .p90: 0])
    }
}
