import NIOCore
import PortholeCore

/// The store reads a ``PolicyCache`` has running, shared by all event loops and guarded by a
/// lock that only the miss path takes: however many lookups on however many loops miss the same
/// id, one read runs (single flight).
///
/// Invalidation has to win over reads that started before it, on every loop. Two mechanisms:
///
/// - An invalidation moves the id's running read to `superseded`: its result may predate the
///   write that caused the invalidation, so when it finishes its waiters join a read started
///   afterwards instead of receiving it (at most `maximumAttempts` reads, so a storm of
///   invalidations cannot starve them).
/// - Every invalidation is numbered, and every read remembers the number current when it
///   started (its `mark`). A loop about to cache a result asks ``fillCompleted(_:mark:)``,
///   under the lock and on the loop: if the id was invalidated after the read started, the
///   result is not cached. An invalidation numbered after that check queues its removal on the
///   loop behind the fill, so it removes what the fill cached. Either way the older value never
///   outlives the invalidation.
///
/// `lastInvalidation` only needs the numbers newer than the oldest outstanding read (running,
/// or finished but not yet handed to every loop), so it is emptied whenever nothing is
/// outstanding (the usual state) and pruned when it grows.
struct InFlightPolicyLoads: Sendable {
    /// A lookup waiting for a read; its loop decides whether to cache the result.
    struct Waiter: Sendable {
        /// `nil` for a loop outside the cache's group, which gets the answer but no caching.
        var cache: NIOLoopBoundBox<LoopPolicyCache>?
        var token: UInt64
        var promise: EventLoopPromise<SandboxPolicy?>
    }

    struct Load: Sendable {
        var number: UInt64
        var attempt: Int
        /// The invalidation number when the read started.
        var mark: UInt64
        var waiters: [Waiter]
    }

    enum Completion {
        /// Hand the result to these waiters; pass `mark` back to `fillCompleted`.
        case deliver([Waiter], mark: UInt64)
        /// The read was superseded; start read `number` for the same waiters.
        case retry(number: UInt64)
        /// The read was superseded and its waiters joined a newer read already running.
        case joinedNewerLoad
    }

    static let maximumAttempts = 3
    private static let invalidationsKeptBeforePruning = 1_024

    /// The read new lookups join, by sandbox id.
    private var current: [String: Load] = [:]
    /// Reads that started before an invalidation of their id, by read number.
    private var superseded: [UInt64: Load] = [:]
    private var nextNumber: UInt64 = 0

    private var invalidationCount: UInt64 = 0
    private var lastInvalidation: [String: UInt64] = [:]
    private var lastInvalidateAll: UInt64 = 0
    /// Outstanding reads and undelivered fills, counted by their mark.
    private var outstanding: [UInt64: Int] = [:]

    private(set) var loadsStarted = 0
    private(set) var loadFailures = 0
    /// Set by a failed read, cleared by a successful one; while set, expired policies are served
    /// at once instead of waiting for the store to fail again.
    private(set) var storeIsFailing = false

    /// Adds `waiter` to the running read of `id`, or returns the number of a read to start.
    mutating func join(_ id: String, _ waiter: Waiter) -> UInt64? {
        if self.current[id] != nil {
            self.current[id]!.waiters.append(waiter)
            return nil
        }
        let number = self.makeLoad(id, attempt: 1, waiters: [waiter])
        return number
    }

    mutating func invalidate(_ ids: [String]) {
        self.invalidationCount &+= 1
        for id in ids {
            if let load = self.current.removeValue(forKey: id) {
                self.superseded[load.number] = load
            }
            if !self.outstanding.isEmpty {
                self.lastInvalidation[id] = self.invalidationCount
            }
        }
        self.pruneInvalidations()
    }

    mutating func invalidateAll() {
        self.invalidationCount &+= 1
        self.lastInvalidateAll = self.invalidationCount
        for load in self.current.values {
            self.superseded[load.number] = load
        }
        self.current.removeAll()
        self.lastInvalidation.removeAll()
    }

    /// Read `number` of `id` finished. Returns what to do, and whether the store just started
    /// failing (`true`) or recovered (`false`), to be logged once.
    mutating func finish(_ id: String, number: UInt64, failed: Bool) -> (Completion, storeStateChanged: Bool?) {
        if failed {
            self.loadFailures &+= 1
        }
        let change: Bool? = failed == self.storeIsFailing ? nil : failed
        self.storeIsFailing = failed

        let load: Load
        if let running = self.current[id], running.number == number {
            self.current[id] = nil
            load = running
        } else if let old = self.superseded.removeValue(forKey: number) {
            guard old.attempt >= Self.maximumAttempts else {
                self.release(old.mark)
                if self.current[id] != nil {
                    self.current[id]!.waiters.append(contentsOf: old.waiters)
                    return (.joinedNewerLoad, change)
                }
                let retry = self.makeLoad(id, attempt: old.attempt + 1, waiters: old.waiters)
                return (.retry(number: retry), change)
            }
            load = old  // answered, but `fillCompleted` will refuse to cache it
        } else {
            preconditionFailure("policy read \(number) of '\(id)' finished but is not registered")
        }

        // The read is done; each waiter that may cache holds the mark until its loop decides.
        let fills = load.waiters.count { $0.cache != nil }
        self.outstanding[load.mark, default: 0] += fills
        self.release(load.mark)
        return (.deliver(load.waiters, mark: load.mark), change)
    }

    /// A loop is about to cache the result of a read that started at `mark`: `true` if no
    /// invalidation of `id` happened since. Must be called exactly once per delivered waiter
    /// that has a cache, on its loop.
    mutating func fillCompleted(_ id: String, mark: UInt64) -> Bool {
        let fresh = max(self.lastInvalidation[id] ?? 0, self.lastInvalidateAll) <= mark
        self.release(mark)
        return fresh
    }

    private mutating func makeLoad(_ id: String, attempt: Int, waiters: [Waiter]) -> UInt64 {
        self.nextNumber &+= 1
        self.loadsStarted &+= 1
        let mark = self.invalidationCount
        self.outstanding[mark, default: 0] += 1
        self.current[id] = Load(number: self.nextNumber, attempt: attempt, mark: mark, waiters: waiters)
        return self.nextNumber
    }

    private mutating func release(_ mark: UInt64) {
        guard let count = self.outstanding[mark] else {
            preconditionFailure("policy read mark \(mark) released more often than taken")
        }
        self.outstanding[mark] = count > 1 ? count - 1 : nil
        if self.outstanding.isEmpty {
            self.lastInvalidation.removeAll()
        }
    }

    /// Forgets invalidations no outstanding read can have missed.
    private mutating func pruneInvalidations() {
        guard self.lastInvalidation.count > Self.invalidationsKeptBeforePruning,
            let oldest = self.outstanding.keys.min()
        else { return }
        self.lastInvalidation = self.lastInvalidation.filter { $0.value > oldest }
    }
}
