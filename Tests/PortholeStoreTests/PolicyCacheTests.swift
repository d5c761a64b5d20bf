import NIOCore
import NIOPosix
import PortholeCore
import Testing
@testable import PortholeStore

@Suite("PolicyCache")
struct PolicyCacheTests {
    /// A cache over a counting wrapper of a real SQLite store, on a two-loop group.
    private func withCache(
        configuration: (ManualClock) -> PolicyCache.Configuration = { clock in .init(now: { clock.now }) },
        _ body: (PolicyCache, InstrumentedPolicyStore, ManualClock, MultiThreadedEventLoopGroup) async throws -> Void
    ) async throws {
        try await withSQLiteStore { sqlite, _ in
            try await withTestEventLoopGroup { group in
                let clock = ManualClock()
                let store = InstrumentedPolicyStore(sqlite)
                let cache = PolicyCache(store: store, group: group, configuration: configuration(clock), logger: testLogger)
                try await body(cache, store, clock, group)
                store.releaseReads()
            }
        }
    }

    @Test func hitsAreAnsweredFromMemoryWithoutStoreCalls() async throws {
        try await withCache { cache, store, _, group in
            let loop = group.next()
            try await store.create(samplePolicy("a"))

            let first = try await cache.lookupOnLoop("a", loop)
            #expect(first.isPending)
            guard case .pending(let future) = first else { return }
            #expect(try await future.get() == samplePolicy("a"))
            #expect(future.eventLoop === loop)

            for _ in 0..<10 {
                #expect(try await cache.lookupOnLoop("a", loop).foundPolicy == samplePolicy("a"))
            }
            #expect(store.policyReads == 1)

            let metrics = await cache.metrics
            #expect(metrics.hits == 10)
            #expect(metrics.misses == 1)
            #expect(metrics.loads == 1)
            #expect(metrics.entries == 1)
        }
    }

    @Test func concurrentMissesShareOneStoreRead() async throws {
        try await withCache { cache, store, _, group in
            try await store.create(samplePolicy("a"))
            store.holdReads()
            let loops = [group.next(), group.next()]
            #expect(loops[0] !== loops[1])

            let lookups = try await withThrowingTaskGroup(of: (PolicyLookup, ObjectIdentifier).self) { tasks in
                for index in 0..<100 {
                    let loop = loops[index % 2]
                    tasks.addTask { (try await cache.lookupOnLoop("a", loop), ObjectIdentifier(loop)) }
                }
                return try await tasks.reduce(into: []) { $0.append($1) }
            }
            try await store.waitForHeldReads(1)
            store.releaseReads()

            for (lookup, loopID) in lookups {
                guard case .pending(let future) = lookup else {
                    Issue.record("expected a pending lookup, got \(lookup)")
                    continue
                }
                #expect(ObjectIdentifier(future.eventLoop) == loopID)
                #expect(try await future.get() == samplePolicy("a"))
            }
            #expect(store.policyReads == 1)
            // Both loops filled their own dictionary.
            for loop in loops {
                #expect(try await cache.lookupOnLoop("a", loop).foundPolicy == samplePolicy("a"))
            }
            #expect(store.policyReads == 1)
        }
    }

    @Test func unknownSandboxesAreCachedNegativelyUntilNegativeTTL() async throws {
        try await withCache { cache, store, clock, group in
            let loop = group.next()
            #expect(try await cache.resolve("later", on: loop) == nil)
            #expect(try await cache.lookupOnLoop("later", loop).isNotFound)
            #expect(store.policyReads == 1)

            // Created behind the cache's back (no invalidation): still unknown until the TTL.
            try await store.create(samplePolicy("later"))
            clock.advance(by: .seconds(4))
            #expect(try await cache.lookupOnLoop("later", loop).isNotFound)
            clock.advance(by: .seconds(1))
            #expect(try await cache.resolve("later", on: loop) == samplePolicy("later"))
            #expect(store.policyReads == 2)
            #expect(await cache.metrics.negativeHits == 2)
        }
    }

    @Test func expiredPoliciesAreReadAgain() async throws {
        try await withCache { cache, store, clock, group in
            let loop = group.next()
            try await store.create(samplePolicy("a"))
            #expect(try await cache.resolve("a", on: loop)?.target == "10.1.2.3")
            try await store.update(samplePolicy("a", target: "10.0.0.9"))
            clock.advance(by: .seconds(59))
            #expect(try await cache.lookupOnLoop("a", loop).foundPolicy?.target == "10.1.2.3")
            clock.advance(by: .seconds(1))
            #expect(try await cache.lookupOnLoop("a", loop).isPending)
            #expect(try await cache.resolve("a", on: loop)?.target == "10.0.0.9")
            #expect(store.policyReads == 2)
        }
    }

    @Test func invalidateDropsTheEntryOnEveryLoop() async throws {
        try await withCache { cache, store, _, group in
            let loops = [group.next(), group.next()]
            try await store.create(samplePolicy("a"))
            for loop in loops {
                _ = try await cache.resolve("a", on: loop)
            }
            try await store.update(samplePolicy("a", target: "10.0.0.9"))
            cache.invalidate("a")
            for loop in loops {
                #expect(try await cache.resolve("a", on: loop)?.target == "10.0.0.9")
            }

            _ = try await store.delete(id: "a")
            cache.invalidateAll()
            for loop in loops {
                #expect(try await cache.resolve("a", on: loop) == nil)
            }
        }
    }

    @Test func invalidationWinsOverAReadThatStartedBeforeIt() async throws {
        try await withCache { cache, store, _, group in
            let loop = group.next()
            try await store.create(samplePolicy("a", target: "old"))
            store.holdReads()
            let lookup = try await cache.lookupOnLoop("a", loop)
            guard case .pending(let future) = lookup else {
                Issue.record("expected a pending lookup")
                return
            }
            // The read has fetched "old" and is held before returning it.
            try await store.waitForHeldReads(1)

            try await store.update(samplePolicy("a", target: "new"))
            cache.invalidate("a")
            store.releaseReads()

            // The waiter is answered by a read made after the invalidation…
            #expect(try await future.get()?.target == "new")
            #expect(store.policyReads == 2)
            // …and "old" never reached the cache.
            #expect(try await cache.lookupOnLoop("a", loop).foundPolicy?.target == "new")
            #expect(store.policyReads == 2)
        }
    }

    @Test func lookupsAfterAnInvalidationDoNotJoinTheOlderRead() async throws {
        try await withCache { cache, store, _, group in
            let loops = [group.next(), group.next()]
            try await store.create(samplePolicy("a", target: "old"))
            store.holdReads()
            guard case .pending(let before) = try await cache.lookupOnLoop("a", loops[0]) else {
                Issue.record("expected a pending lookup")
                return
            }
            try await store.waitForHeldReads(1)

            try await store.update(samplePolicy("a", target: "new"))
            cache.invalidate("a")
            // The same loop and another loop: both must start a new read, not join the old one.
            guard case .pending(let sameLoop) = try await cache.lookupOnLoop("a", loops[0]),
                case .pending(let otherLoop) = try await cache.lookupOnLoop("a", loops[1])
            else {
                Issue.record("expected pending lookups")
                return
            }
            #expect(sameLoop !== before)
            try await store.waitForHeldReads(2)
            store.releaseReads()

            #expect(try await before.get()?.target == "new")
            #expect(try await sameLoop.get()?.target == "new")
            #expect(try await otherLoop.get()?.target == "new")
            for loop in loops {
                #expect(try await cache.lookupOnLoop("a", loop).foundPolicy?.target == "new")
            }
            #expect((2...3).contains(store.policyReads))
        }
    }

    @Test func invalidationAfterAReadFinishedButBeforeItsLoopCachedIt() async throws {
        // The narrowest window: the read has returned "old" and its result is queued for the
        // loop, then an invalidation runs on that loop first. Reproduced by occupying the loop
        // while the read finishes, and invalidating from inside, as an admin request handled on
        // this loop would. If the machine is too slow for the window, the invalidation instead
        // supersedes the running read; the invariant checked below holds either way.
        try await withCache { cache, store, _, group in
            let loop = group.next()
            try await store.create(samplePolicy("a", target: "old"))
            store.holdReads()
            guard case .pending(let future) = try await cache.lookupOnLoop("a", loop) else {
                Issue.record("expected a pending lookup")
                return
            }
            try await store.waitForHeldReads(1)
            try await store.update(samplePolicy("a", target: "new"))

            try await loop.submit {
                store.releaseReads()
                let deadline = NIODeadline.now() + .seconds(5)
                while store.completedReads == 0, NIODeadline.now() < deadline {}
                spin(for: .milliseconds(20))  // the read's delivery queues behind this task
                cache.invalidate("a")
            }.get()

            let answered = try await future.get()?.target
            #expect(answered == "old" || answered == "new")
            // "old" must not have been cached.
            #expect(try await cache.resolve("a", on: loop)?.target == "new")
            #expect(try await cache.lookupOnLoop("a", loop).foundPolicy?.target == "new")
        }
    }

    @Test func servesStaleValuesWhileTheStoreIsDown() async throws {
        try await withCache { cache, store, clock, group in
            let loop = group.next()
            try await store.create(samplePolicy("a"))
            #expect(try await cache.resolve("a", on: loop) == samplePolicy("a"))

            store.setFailing(true)
            clock.advance(by: .seconds(61))
            // Expired: the reload fails and the stale policy answers.
            #expect(try await cache.resolve("a", on: loop) == samplePolicy("a"))
            #expect(store.policyReads == 2)
            // Rechecked only every staleRetryInterval.
            #expect(try await cache.lookupOnLoop("a", loop).foundPolicy == samplePolicy("a"))
            #expect(store.policyReads == 2)
            // Once the outage is known, expired policies answer at once while a read retries.
            clock.advance(by: .seconds(5))
            #expect(try await cache.lookupOnLoop("a", loop).foundPolicy == samplePolicy("a"))
            try await waitUntil { store.policyReads == 3 }

            // Recovery: the next background read refreshes the entry.
            store.setFailing(false)
            try await store.update(samplePolicy("a", target: "10.0.0.9"))
            clock.advance(by: .seconds(5))
            _ = try await cache.lookupOnLoop("a", loop)
            try await waitUntil { (try? await cache.lookupOnLoop("a", loop).foundPolicy?.target) == "10.0.0.9" }

            let metrics = await cache.metrics
            #expect(metrics.loadFailures == 2)
            #expect(metrics.staleHits >= 2)
        }
    }

    @Test func failsClosedForUnknownIdsWhenTheStoreIsDown() async throws {
        try await withCache { cache, store, _, group in
            let loop = group.next()
            try await store.create(samplePolicy("a"))
            store.setFailing(true)
            let error = await #expect(throws: PolicyStoreError.self) {
                try await cache.resolve("a", on: loop)
            }
            #expect(error?.code == .unavailable)
            // Nothing was cached: after recovery the policy loads.
            store.setFailing(false)
            #expect(try await cache.resolve("a", on: loop) == samplePolicy("a"))
        }
    }

    @Test func anInvalidatedIdFailsClosedDuringAnOutage() async throws {
        try await withCache { cache, store, _, group in
            let loop = group.next()
            try await store.create(samplePolicy("a"))
            _ = try await cache.resolve("a", on: loop)
            store.setFailing(true)
            cache.invalidate("a")  // we know it changed and cannot read it: no stale answer
            await #expect(throws: PolicyStoreError.self) { try await cache.resolve("a", on: loop) }
        }
    }

    @Test func evictsToStayWithinTheLimit() async throws {
        try await withCache(configuration: { clock in .init(maximumEntriesPerLoop: 10, now: { clock.now }) }) {
            cache, store, _, group in
            let loop = group.next()
            for index in 0..<11 {
                _ = try await cache.resolve("id-\(index)", on: loop)
            }
            let metrics = await cache.metrics
            #expect(metrics.entries <= 10)
            #expect(metrics.evictions > 0)
            // The entry just loaded survives its own eviction pass.
            #expect(try await cache.lookupOnLoop("id-10", loop).isNotFound)
        }
    }

    @Test func loopsOutsideTheGroupAreServedWithoutCaching() async throws {
        try await withCache { cache, store, _, _ in
            try await store.create(samplePolicy("a"))
            try await withTestEventLoopGroup { other async throws in
                let loop = other.next()
                #expect(try await cache.resolve("a", on: loop) == samplePolicy("a"))
                let again = try await cache.lookupOnLoop("a", loop)
                #expect(again.isPending)
                if case .pending(let future) = again {
                    #expect(try await future.get() == samplePolicy("a"))
                    #expect(future.eventLoop === loop)
                }
            }
        }
    }

    @Test func runFollowsWritesMadeByAnotherProcess() async throws {
        try await withCache(configuration: { clock in
            .init(changePollInterval: .milliseconds(10), now: { clock.now })
        }) { cache, store, _, group in
            let loop = group.next()
            try await store.create(samplePolicy("a", target: "old"))
            let sqlite = try #require(store.base as? SQLitePolicyStore)
            let cli = try await SQLitePolicyStore.open(path: sqlite.path, logger: testLogger)

            // run()'s first read drops everything cached before it (it cannot know what changed
            // earlier); a sentinel shows when that has happened, so "a" is cached after it.
            try await store.create(samplePolicy("sentinel"))
            _ = try await cache.resolve("sentinel", on: loop)
            let running = Task { try await cache.run() }
            try await waitUntil { (try? await cache.lookupOnLoop("sentinel", loop).isPending) == true }
            #expect(try await cache.resolve("a", on: loop)?.target == "old")
            // Cached entries survive polling while nothing changes.
            try await Task.sleep(nanoseconds: 50_000_000)
            #expect(try await cache.lookupOnLoop("a", loop).foundPolicy?.target == "old")

            try await cli.update(samplePolicy("a", target: "new"))
            try await cli.create(samplePolicy("b"))
            try await waitUntil { (try? await cache.lookupOnLoop("a", loop).foundPolicy?.target) == "new" }
            #expect(try await cache.resolve("b", on: loop) == samplePolicy("b"))

            running.cancel()
            try await running.value  // returns, does not throw, on cancellation
            try await cli.close()
        }
    }
}

/// Polls `condition` (with real time) for up to five seconds.
func waitUntil(_ condition: () async -> Bool) async throws {
    for _ in 0..<500 {
        if await condition() { return }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
    throw TestTimeout(what: "condition")
}

/// Keeps the current thread (an event loop, deliberately) busy for a while.
func spin(for amount: TimeAmount) {
    let deadline = NIODeadline.now() + amount
    while NIODeadline.now() < deadline {}
}
