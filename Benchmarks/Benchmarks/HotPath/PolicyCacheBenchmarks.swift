import Benchmark

/// The policy lookup every request makes after routing: a hit among 10,000 cached sandboxes.
func policyCacheBenchmarks() {
    var fixture: PolicyCacheFixture!
    Benchmark("PolicyCache.lookup.hit10k") { benchmark in
        try fixture.measureHits(of: Fixtures.sandboxID, benchmark)
    } setup: {
        fixture = try await PolicyCacheFixture.make(sandboxes: 10_000)
    } teardown: {
        try await fixture.close()
    }
}
