import Benchmark

/// The pure pieces every proxied request goes through, each measured alone on realistic input.
///
/// Each iteration calls the piece 1,000 times (`scalingFactor: .kilo`), so reading the clocks is noise
/// next to the work. The text output marks per-call figures with `*`; `Thresholds/*.p90.json` and
/// `thresholds check` count per iteration, so their malloc counts are per 1,000 calls.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        // No `.cpuTotal`: on Linux it comes from /proc in 10 ms ticks, so an iteration of a few
        // hundred microseconds reads 0 or 10,000,000 ns; the wall clock of this single-threaded loop
        // is its CPU time. No `.instructions`: perf counters are not available on our machines.
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 100,
        scalingFactor: .kilo,
        // Two seconds each, whatever the iteration count: a disturbance of the shared machine then
        // touches too few iterations to move the p90 the thresholds check.
        maxDuration: .seconds(2),
        maxIterations: 1_000_000,
        thresholds: HotPathThresholds.all
    )
    httpHeadBenchmarks()
    accessBenchmarks()
    policyCacheBenchmarks()
}
