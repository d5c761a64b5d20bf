public import Logging
public import NIOCore
import NIOConcurrencyHelpers
import PortholeCore

/// The policy cache in front of a ``PolicyStore``, asked once per proxied request.
///
/// - Hot path: each event loop of the group has its own plain dictionary (``LoopPolicyCache``),
///   found through an immutable map built at init. A hit is two dictionary lookups, the
///   on-loop check of `NIOLoopBoundBox` and a clock read: no lock, no I/O, no allocation, no hop.
/// - Misses: one store read per id however many lookups on however many loops wait for it
///   (single flight, under a lock taken on the miss path only). Each waiting loop gets a future
///   on its own loop and fills its own dictionary when the read finishes.
/// - Unknown sandboxes are cached as negative entries for ``Configuration/negativeTTL``.
/// - Expired policies are read again. If the store fails, the expired policy keeps being served
///   (rechecked every ``Configuration/staleRetryInterval``; once a read has failed, expired
///   policies are served at once while a read runs in the background) and the outage is logged
///   once. An id not in memory fails closed with ``PolicyStoreError/Code/unavailable``.
/// - Invalidation (``invalidate(_:)``, ``invalidateAll()``, or the change feed followed by
///   ``run()``) wins over reads that started before it: such a read is not cached on any loop,
///   and its waiters are answered by a read that started after the invalidation (up to three
///   reads, so an invalidation storm cannot starve them). See ``InFlightPolicyLoads``.
/// - Memory: past ``Configuration/maximumEntriesPerLoop`` a loop drops its expired entries and
///   then an arbitrary half of the rest.
public final class PolicyCache: Sendable {
    private let store: any PolicyStore
    private let configuration: Configuration
    private let now: @Sendable () -> NIODeadline
    /// Built once at init and never mutated, so the hot path reads it without a lock.
    private let loopCaches: [ObjectIdentifier: NIOLoopBoundBox<LoopPolicyCache>]
    private let loads = NIOLockedValueBox(InFlightPolicyLoads())
    /// When ``run()`` last read the change feed: what it cached is at most that old plus the
    /// entries' lifetime. `nil` before the first read.
    private let feedReadAt = NIOLockedValueBox<NIODeadline?>(nil)
    private let logger: Logger

    public init(
        store: any PolicyStore,
        group: any EventLoopGroup,
        configuration: Configuration = .init(),
        logger: Logger
    ) {
        self.store = store
        self.configuration = configuration
        self.now = configuration.now
        self.logger = logger
        var loopCaches: [ObjectIdentifier: NIOLoopBoundBox<LoopPolicyCache>] = [:]
        for loop in group.makeIterator() {
            loopCaches[ObjectIdentifier(loop)] = .makeBoxSendingValue(
                LoopPolicyCache(configuration: configuration),
                eventLoop: loop
            )
        }
        self.loopCaches = loopCaches
    }

    /// The policy of sandbox `id`. Must be called on `eventLoop` (checked: a call from another
    /// thread traps, as any `NIOLoopBoundBox` access would).
    ///
    /// A memory hit answers ``PolicyLookup/found(_:)`` or ``PolicyLookup/notFound`` at once; a
    /// miss answers ``PolicyLookup/pending(_:)`` with a future completing on `eventLoop`. A loop
    /// outside the cache's group is served correctly but nothing is cached for it.
    public func lookup(_ id: String, on eventLoop: any EventLoop) -> PolicyLookup {
        guard let box = self.loopCaches[ObjectIdentifier(eventLoop)] else {
            let promise = eventLoop.makePromise(of: SandboxPolicy?.self)
            self.join(id, .init(cache: nil, token: 0, promise: promise))
            return .pending(promise.futureResult)
        }
        let cache = box.value  // preconditions that we are on `eventLoop`
        let now = self.now()
        let cached = cache.entries[id]
        if let cached, now < cached.expires {
            if let policy = cached.policy {
                cache.counters.hits &+= 1
                return .found(policy)
            }
            cache.counters.negativeHits &+= 1
            return .notFound
        }

        if let stale = cached?.policy, self.loads.withLockedValue({ $0.storeIsFailing }) {
            // The store is known to be down: answer with what we have instead of making this
            // request wait for another failure, and retry in the background.
            cache.counters.staleHits &+= 1
            if cache.pending[id] == nil {
                _ = self.beginLoad(id, in: box, cache: cache)
            }
            return .found(stale)
        }

        cache.counters.misses &+= 1
        if let pending = cache.pending[id] {
            return .pending(pending.future)
        }
        return .pending(self.beginLoad(id, in: box, cache: cache))
    }

    /// Completes the next time `id` is invalidated on `eventLoop`'s cache, or after `limit`
    /// (``PolicySource``): every promise is completed once, so none outlives its waiter.
    public func nextChange(of id: String, on eventLoop: any EventLoop, within limit: TimeAmount) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        guard let box = self.loopCaches[ObjectIdentifier(eventLoop)] else {
            // A loop outside the cache's group (tests) has no waiters list: look again after `limit`.
            eventLoop.scheduleTask(in: limit) { promise.succeed() }
            return promise.futureResult
        }
        box.value.changeWaiters[id, default: []].append(promise)
        eventLoop.assumeIsolated().scheduleTask(in: limit) {
            let cache = box.value
            // Still waiting (no invalidation answered it): take it out and answer it now.
            guard let index = cache.changeWaiters[id]?.firstIndex(where: { $0.futureResult === promise.futureResult }) else { return }
            cache.changeWaiters[id]!.remove(at: index)
            if cache.changeWaiters[id]!.isEmpty { cache.changeWaiters[id] = nil }
            promise.succeed()
        }
        return promise.futureResult
    }

    /// Forgets `id` on every loop and supersedes a running read of it. Callable from any thread;
    /// the loop the caller is on (if any) forgets at once, the others as soon as they run.
    public func invalidate(_ id: String) {
        self.invalidate([id])
    }

    /// Forgets everything; reads already running are superseded.
    public func invalidateAll() {
        self.loads.withLockedValue { $0.invalidateAll() }
        for box in self.loopCaches.values {
            Self.onLoop(box) { $0.invalidateAll() }
        }
    }

    /// Follows the store's change feed, invalidating every id written by anyone (this process,
    /// the CLI, another instance): as soon as the store hears of a write, and at least every
    /// ``Configuration/changePollInterval``. Returns when the
    /// task is cancelled. Store failures are logged once per outage and polling continues.
    public func run() async throws {
        // `Int64.max` is in every feed's future, so the first read reports an incomplete feed:
        // everything cached before the cursor existed is dropped, and `latest` becomes the cursor.
        var cursor = Int64.max
        var failing = false
        let interval = UInt64(max(1, self.configuration.changePollInterval.nanoseconds))
        while !Task.isCancelled {
            do {
                let changes = try await self.store.changes(after: cursor)
                let readAt = self.now()
                self.feedReadAt.withLockedValue { $0 = readAt }
                if failing {
                    failing = false
                    self.logger.info("policy change feed is readable again")
                }
                if !changes.isComplete {
                    if cursor != .max {
                        self.logger.notice(
                            "policy change feed skipped past our position; invalidating all cached policies",
                            metadata: ["cursor": "\(cursor)", "latest": "\(changes.latest)"]
                        )
                    }
                    self.invalidateAll()
                } else if !changes.ids.isEmpty {
                    self.invalidate(changes.ids)
                }
                cursor = changes.latest
            } catch is CancellationError {
                return
            } catch {
                if !failing {
                    failing = true
                    self.logger.warning(
                        "cannot read the policy change feed; cached policies may be stale until it recovers",
                        metadata: ["error": "\(error)"]
                    )
                }
            }
            if failing {
                // Not woken by notifications while reads fail: they would turn into a busy loop.
                do {
                    try await Task.sleep(nanoseconds: interval)
                } catch {
                    return
                }
            } else {
                // At once when the store hears of a write (PostgreSQL), else after the interval.
                await self.store.waitForChanges(after: cursor, timeout: .nanoseconds(Int64(interval)))
                if Task.isCancelled { return }
            }
        }
    }

    /// Counters summed over the loops (each loop is asked on the loop itself).
    public var metrics: PolicyCacheMetrics {
        get async {
            var metrics = PolicyCacheMetrics()
            if let readAt = self.feedReadAt.withLockedValue({ $0 }) {
                metrics.changeFeedAgeSeconds = Double((self.now() - readAt).nanoseconds) / 1e9
            }
            self.loads.withLockedValue {
                metrics.loads = $0.loadsStarted
                metrics.loadFailures = $0.loadFailures
            }
            for box in self.loopCaches.values {
                guard
                    let (counters, entries) = try? await box.eventLoop.submit({
                        (box.value.counters, box.value.entries.count)
                    }).get()
                else { continue }
                metrics.hits &+= counters.hits
                metrics.negativeHits &+= counters.negativeHits
                metrics.misses &+= counters.misses
                metrics.staleHits &+= counters.staleHits
                metrics.evictions &+= counters.evictions
                metrics.entries &+= entries
            }
            return metrics
        }
    }
}

// MARK: - Loading

extension PolicyCache {
    /// Registers a read on `cache`'s loop and joins (or starts) the shared read of `id`.
    private func beginLoad(
        _ id: String,
        in box: NIOLoopBoundBox<LoopPolicyCache>,
        cache: LoopPolicyCache
    ) -> EventLoopFuture<SandboxPolicy?> {
        let promise = box.eventLoop.makePromise(of: SandboxPolicy?.self)
        let token = cache.beginLoad(id, future: promise.futureResult)
        self.join(id, .init(cache: box, token: token, promise: promise))
        return promise.futureResult
    }

    private func join(_ id: String, _ waiter: InFlightPolicyLoads.Waiter) {
        if let number = self.loads.withLockedValue({ $0.join(id, waiter) }) {
            self.startLoad(id, number: number)
        }
    }

    private func startLoad(_ id: String, number: UInt64) {
        Task {
            let result: Result<SandboxPolicy?, PolicyStoreError>
            do {
                result = .success(try await self.store.policy(id: id))
            } catch let error as PolicyStoreError where error.code == .unavailable {
                result = .failure(error)
            } catch {
                result = .failure(.unavailable("reading sandbox '\(id)' failed: \(error)"))
            }
            self.finishLoad(id, number: number, result: result)
        }
    }

    private func finishLoad(_ id: String, number: UInt64, result: Result<SandboxPolicy?, PolicyStoreError>) {
        let failed: Bool
        if case .failure = result { failed = true } else { failed = false }
        let (completion, storeStateChanged) = self.loads.withLockedValue {
            $0.finish(id, number: number, failed: failed)
        }

        switch storeStateChanged {
        case true?:
            if case .failure(let error) = result {
                self.logger.warning(
                    "policy store unavailable; serving cached policies and failing closed for others",
                    metadata: ["error": "\(error)"]
                )
            }
        case false?:
            self.logger.info("policy store available again")
        case nil:
            break
        }

        switch completion {
        case .deliver(let waiters, let mark):
            for waiter in waiters {
                self.deliver(result, of: id, mark: mark, to: waiter)
            }
        case .retry(let retry):
            self.startLoad(id, number: retry)
        case .joinedNewerLoad:
            break
        }
    }

    private func deliver(
        _ result: Result<SandboxPolicy?, PolicyStoreError>,
        of id: String,
        mark: UInt64,
        to waiter: InFlightPolicyLoads.Waiter
    ) {
        guard let box = waiter.cache else {
            waiter.promise.completeWith(result.mapError { $0 as any Error })
            return
        }
        Self.onLoop(box) { cache in
            // Decided on the loop, so an invalidation either is seen here or queues its removal
            // on this loop behind the insert.
            let cacheable = self.loads.withLockedValue { $0.fillCompleted(id, mark: mark) }
            cache.finishLoad(
                id,
                token: waiter.token,
                result: result,
                cacheable: cacheable,
                promise: waiter.promise,
                now: self.now()
            )
        }
    }
}

// MARK: - Invalidation

extension PolicyCache {
    func invalidate(_ ids: [String]) {
        self.loads.withLockedValue { $0.invalidate(ids) }
        for box in self.loopCaches.values {
            Self.onLoop(box) { $0.invalidate(ids) }
        }
    }

    /// Runs `body` on the box's loop: at once if we are on it, otherwise as a task.
    private static func onLoop(
        _ box: NIOLoopBoundBox<LoopPolicyCache>,
        _ body: @escaping @Sendable (LoopPolicyCache) -> Void
    ) {
        if box.eventLoop.inEventLoop {
            body(box.value)
        } else {
            box.eventLoop.execute { body(box.value) }
        }
    }
}
