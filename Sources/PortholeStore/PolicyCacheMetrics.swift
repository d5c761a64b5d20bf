/// Counters of a ``PolicyCache`` since it was created; see ``PolicyCache/metrics``.
public struct PolicyCacheMetrics: Sendable, Hashable {
    /// Lookups answered from memory with a policy.
    public var hits: Int
    /// Lookups answered from memory with "no such sandbox".
    public var negativeHits: Int
    /// Lookups that were not answered from memory (they waited for a store read).
    public var misses: Int
    /// Lookups answered with an expired policy because the store could not be read.
    public var staleHits: Int
    /// Store reads started (misses waiting for the same id share one).
    public var loads: Int
    /// Store reads that failed.
    public var loadFailures: Int
    /// Entries dropped to stay within ``PolicyCache/Configuration/maximumEntriesPerLoop``.
    public var evictions: Int
    /// Entries held now, summed over the event loops (an id cached on two loops counts twice).
    public var entries: Int
    /// Seconds since the change feed was last read: during a store outage, how much older than
    /// the store a cached policy may be. `nil` before the first read (or without a follower).
    public var changeFeedAgeSeconds: Double? = nil

    public init(
        hits: Int = 0,
        negativeHits: Int = 0,
        misses: Int = 0,
        staleHits: Int = 0,
        loads: Int = 0,
        loadFailures: Int = 0,
        evictions: Int = 0,
        entries: Int = 0
    ) {
        self.hits = hits
        self.negativeHits = negativeHits
        self.misses = misses
        self.staleHits = staleHits
        self.loads = loads
        self.loadFailures = loadFailures
        self.evictions = evictions
        self.entries = entries
    }
}
