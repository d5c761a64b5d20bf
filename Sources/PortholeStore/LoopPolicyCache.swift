import NIOCore
import PortholeCore

/// One event loop's share of a ``PolicyCache``: a plain dictionary, touched only on its loop
/// (``PolicyCache`` keeps it in an `NIOLoopBoundBox`, which checks that), so a hit costs a
/// dictionary lookup and nothing else.
final class LoopPolicyCache {
    struct Entry {
        /// `nil`: the store has no such sandbox (a negative entry).
        var policy: SandboxPolicy?
        var expires: NIODeadline
    }

    /// A store read this loop is waiting for.
    struct PendingLoad {
        /// Identifies this wait. An invalidation removes the pending load, so that later lookups
        /// start a new read instead of joining this one.
        var token: UInt64
        /// Handed to every lookup of the id on this loop until the read finishes.
        var future: EventLoopFuture<SandboxPolicy?>
    }

    struct Counters: Sendable {
        var hits = 0
        var negativeHits = 0
        var misses = 0
        var staleHits = 0
        var evictions = 0
    }

    var entries: [String: Entry] = [:]
    var pending: [String: PendingLoad] = [:]
    /// Requests held until a sandbox's record changes (waking a stopped sandbox): answered by the
    /// next invalidation of the id, which the change feed brings.
    var changeWaiters: [String: [EventLoopPromise<Void>]] = [:]
    var counters = Counters()
    private var nextToken: UInt64 = 0

    private let positiveTTL: TimeAmount
    private let negativeTTL: TimeAmount
    private let staleRetryInterval: TimeAmount
    private let maximumEntries: Int

    init(configuration: PolicyCache.Configuration) {
        self.positiveTTL = configuration.positiveTTL
        self.negativeTTL = configuration.negativeTTL
        self.staleRetryInterval = configuration.staleRetryInterval
        self.maximumEntries = max(1, configuration.maximumEntriesPerLoop)
    }

    /// Registers a store read for `id`; returns the token its result must carry.
    func beginLoad(_ id: String, future: EventLoopFuture<SandboxPolicy?>) -> UInt64 {
        self.nextToken &+= 1
        self.pending[id] = PendingLoad(token: self.nextToken, future: future)
        return self.nextToken
    }

    /// A store read finished: cache its result if `cacheable` (no invalidation of the id since
    /// the read started; see ``InFlightPolicyLoads``), then answer the waiters.
    func finishLoad(
        _ id: String,
        token: UInt64,
        result: Result<SandboxPolicy?, PolicyStoreError>,
        cacheable: Bool,
        promise: EventLoopPromise<SandboxPolicy?>,
        now: NIODeadline
    ) {
        let isCurrent = self.pending[id]?.token == token
        if isCurrent {
            self.pending[id] = nil
        }
        switch result {
        case .success(let policy):
            if cacheable {
                let ttl = policy == nil ? self.negativeTTL : self.positiveTTL
                self.insert(id, Entry(policy: policy, expires: now + ttl), now: now)
            }
            promise.succeed(policy)
        case .failure(let error):
            // An entry still here was not invalidated: serving its policy after the TTL is
            // better than an outage of every preview. An invalidated or never-seen id has no
            // entry and fails closed.
            if let policy = self.entries[id]?.policy {
                if isCurrent {
                    self.entries[id]?.expires = now + self.staleRetryInterval
                }
                self.counters.staleHits &+= 1
                promise.succeed(policy)
            } else {
                promise.fail(error)
            }
        }
    }

    func invalidate(_ ids: [String]) {
        for id in ids {
            self.entries[id] = nil
            // The waiters keep their future (the load answers them); later lookups start afresh.
            self.pending[id] = nil
            if let waiters = self.changeWaiters.removeValue(forKey: id) {
                for waiter in waiters { waiter.succeed() }
            }
        }
    }

    func invalidateAll() {
        self.entries.removeAll()
        self.pending.removeAll()
        let waiters = self.changeWaiters
        self.changeWaiters.removeAll()
        for waiter in waiters.values.joined() { waiter.succeed() }
    }

    /// Eviction: past `maximumEntries`, drop every expired entry, then keep an arbitrary half
    /// (dictionary order, which per-process hash seeding makes effectively random). Halving
    /// makes the O(n) pass run at most once per `maximumEntries / 2` inserts, so its amortised
    /// cost per insert is constant, and a hit never pays for bookkeeping such as an LRU list.
    private func insert(_ id: String, _ entry: Entry, now: NIODeadline) {
        self.entries[id] = entry
        guard self.entries.count > self.maximumEntries else { return }
        let before = self.entries.count
        self.entries = self.entries.filter { $0.value.expires > now }
        let target = self.maximumEntries / 2
        if self.entries.count > target {
            var kept = 0
            self.entries = self.entries.filter { _ in
                kept += 1
                return kept <= target
            }
            // The entry just loaded is about to be asked for again; keep it.
            self.entries[id] = entry
        }
        self.counters.evictions &+= before - self.entries.count
    }
}
