import NIOConcurrencyHelpers
import PortholeCore

/// A token bucket per sandbox for DNS queries: a sandbox that floods its resolver with lookups
/// (scanning, or an exfiltration attempt through names) gets REFUSED beyond the rate, without
/// slowing the other sandboxes. Buckets are kept for sources seen in the last minute only.
final class QueryRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let rate: Double
    private let burst: Double
    private let buckets = NIOLockedValueBox<[SandboxEgress.Source: Bucket]>([:])

    /// `rate` queries per second on average, `burst` at once.
    init(rate: Int, burst: Int) {
        self.rate = Double(max(rate, 1))
        self.burst = Double(max(burst, 1))
    }

    /// Takes one token for `source`; false when its bucket is empty.
    func admit(_ source: SandboxEgress.Source, now: ContinuousClock.Instant = .now) -> Bool {
        buckets.withLockedValue { buckets in
            if buckets.count > 100_000 {
                // Forget sources idle for a minute (they start again with a full bucket).
                buckets = buckets.filter { now - $0.value.updated < .seconds(60) }
            }
            var bucket = buckets[source] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * rate)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[source] = bucket
                return false
            }
            bucket.tokens -= 1
            buckets[source] = bucket
            return true
        }
    }
}
