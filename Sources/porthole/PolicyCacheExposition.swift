import PortholeStore

/// The policy cache's counters in Prometheus text, appended to `/metrics`. They are read once per
/// scrape from the cache's own per-loop counters, so the lookup path gains no atomic or lock.
enum PolicyCacheExposition {
    static func render(_ metrics: PolicyCacheMetrics) -> String {
        var text = ""
        func counter(_ name: String, _ help: String, _ value: Int) {
            text += "# HELP porthole_policy_cache_\(name) \(help)\n# TYPE porthole_policy_cache_\(name) counter\n"
            text += "porthole_policy_cache_\(name) \(value)\n"
        }
        counter("hits_total", "Lookups answered from memory with a policy.", metrics.hits)
        counter("negative_hits_total", "Lookups answered from memory with no such sandbox.", metrics.negativeHits)
        counter("misses_total", "Lookups that waited for a store read.", metrics.misses)
        counter("stale_hits_total", "Lookups answered with an expired policy while the store was unreadable.", metrics.staleHits)
        counter("loads_total", "Store reads (concurrent misses for one id share one).", metrics.loads)
        counter("load_failures_total", "Store reads that failed.", metrics.loadFailures)
        counter("evictions_total", "Entries dropped to stay within the size bound.", metrics.evictions)
        if let age = metrics.changeFeedAgeSeconds {
            text +=
                "# HELP porthole_policy_change_feed_age_seconds Seconds since the store's change feed was last read: during a store outage, how stale cached policies may be.\n"
            text += "# TYPE porthole_policy_change_feed_age_seconds gauge\nporthole_policy_change_feed_age_seconds \(age)\n"
        }
        text += "# HELP porthole_policy_cache_entries Entries held, summed over event loops.\n"
        text += "# TYPE porthole_policy_cache_entries gauge\nporthole_policy_cache_entries \(metrics.entries)\n"
        return text
    }
}
