import NIOCore
import NIOEmbedded
import PortholeCore
@testable import PortholeStore
import Testing

/// The single-flight and invalidation bookkeeping of the policy cache, driven directly: which
/// read runs, who waits for it, when a superseded read is retried, and when a result may be cached.
@Suite("InFlightPolicyLoads")
struct InFlightPolicyLoadsTests {
    /// Waiters on an embedded loop; every promise is completed before the loop goes away.
    final class Waiters {
        let loop = EmbeddedEventLoop()
        private var made: [EventLoopPromise<SandboxPolicy?>] = []
        private var token: UInt64 = 0

        /// A lookup that may cache (it has a loop cache), or one from outside the cache's group.
        func make(caching: Bool = true) -> InFlightPolicyLoads.Waiter {
            let promise = loop.makePromise(of: SandboxPolicy?.self)
            made.append(promise)
            token += 1
            let cache = caching ? NIOLoopBoundBox.makeBoxSendingValue(LoopPolicyCache(configuration: .init()), eventLoop: loop) : nil
            return .init(cache: cache, token: token, promise: promise)
        }

        deinit {
            for promise in made { promise.succeed(nil) }
            try? loop.syncShutdownGracefully()
        }
    }

    static func delivered(_ completion: InFlightPolicyLoads.Completion) -> (tokens: [UInt64], mark: UInt64)? {
        if case .deliver(let waiters, let mark) = completion { return (waiters.map(\.token), mark) }
        return nil
    }

    @Test func concurrentMissesShareOneRead() {
        let waiters = Waiters()
        var loads = InFlightPolicyLoads()
        let first = loads.join("a", waiters.make())
        #expect(first != nil)
        let joined = loads.join("a", waiters.make())
        #expect(joined == nil, "the second miss joins the running read")
        let another = loads.join("b", waiters.make())
        #expect(another != nil, "another id reads on its own")
        let (completion, change) = loads.finish("a", number: first!, failed: false)
        #expect(Self.delivered(completion)?.tokens == [1, 2])
        #expect(change == nil)
        #expect(loads.loadsStarted == 2)
    }

    @Test func aReadThatStartedBeforeAnInvalidationIsRetried() {
        let waiters = Waiters()
        var loads = InFlightPolicyLoads()
        let first = loads.join("a", waiters.make())!
        loads.invalidate(["a"])
        guard case .retry(let second) = loads.finish("a", number: first, failed: false).0 else {
            Issue.record("a superseded read must be retried")
            return
        }
        #expect(second != first)
        let answered = loads.finish("a", number: second, failed: false).0
        #expect(Self.delivered(answered)?.tokens == [1])
        #expect(loads.loadsStarted == 2)
    }

    @Test func supersededWaitersJoinANewerReadAlreadyRunning() {
        let waiters = Waiters()
        var loads = InFlightPolicyLoads()
        let first = loads.join("a", waiters.make())!
        loads.invalidateAll()
        let second = loads.join("a", waiters.make())!
        guard case .joinedNewerLoad = loads.finish("a", number: first, failed: false).0 else {
            Issue.record("the old read's waiters must join the newer one")
            return
        }
        let answered = loads.finish("a", number: second, failed: false).0
        #expect(Self.delivered(answered)?.tokens == [2, 1])
    }

    @Test func anInvalidationStormEndsAfterThreeReadsAndTheLastIsNotCached() {
        let waiters = Waiters()
        var loads = InFlightPolicyLoads()
        var number = loads.join("a", waiters.make())!
        for attempt in 1..<InFlightPolicyLoads.maximumAttempts {
            loads.invalidate(["a"])
            guard case .retry(let next) = loads.finish("a", number: number, failed: false).0 else {
                Issue.record("attempt \(attempt) must be retried")
                return
            }
            number = next
        }
        loads.invalidate(["a"])
        let final = Self.delivered(loads.finish("a", number: number, failed: false).0)
        #expect(final?.tokens == [1], "answered after \(InFlightPolicyLoads.maximumAttempts) reads")
        let cached = loads.fillCompleted("a", mark: final!.mark)
        #expect(cached == false, "but its result is older than the last invalidation")
        #expect(loads.loadsStarted == InFlightPolicyLoads.maximumAttempts)
    }

    @Test func aResultIsCachedOnlyIfNoInvalidationCameAfterItsReadStarted() {
        let waiters = Waiters()
        var loads = InFlightPolicyLoads()
        let read = loads.join("a", waiters.make())!
        let delivered = Self.delivered(loads.finish("a", number: read, failed: false).0)!
        let fresh = loads.fillCompleted("a", mark: delivered.mark)
        #expect(fresh, "nothing happened since: cache it")

        let next = loads.join("a", waiters.make())!
        let result = Self.delivered(loads.finish("a", number: next, failed: false).0)!
        // An invalidation between the delivery and the loop's fill: the fill must not cache.
        loads.invalidate(["a"])
        let stale = loads.fillCompleted("a", mark: result.mark)
        #expect(stale == false)
        // Another id's invalidation does not concern it.
        let other = loads.join("b", waiters.make())!
        let otherResult = Self.delivered(loads.finish("b", number: other, failed: false).0)!
        loads.invalidate(["c"])
        let unconcerned = loads.fillCompleted("b", mark: otherResult.mark)
        #expect(unconcerned)
    }

    @Test func aLookupFromOutsideTheGroupGetsTheAnswerWithoutAFill() {
        let waiters = Waiters()
        var loads = InFlightPolicyLoads()
        let read = loads.join("a", waiters.make(caching: false))!
        let delivered = Self.delivered(loads.finish("a", number: read, failed: false).0)
        #expect(delivered?.tokens == [1])
        // Nothing outstanding: the next read starts from a clean slate.
        let next = loads.join("a", waiters.make())
        #expect(next != nil)
    }

    @Test func theStoreStateIsReportedOnceWhenItChanges() {
        let waiters = Waiters()
        var loads = InFlightPolicyLoads()
        var changes: [Bool?] = []
        for failed in [true, true, false, false, true] {
            let read = loads.join("a", waiters.make(caching: false))!
            changes.append(loads.finish("a", number: read, failed: failed).storeStateChanged)
        }
        #expect(changes == [true, nil, false, nil, true])
        #expect(loads.loadFailures == 3)
        #expect(loads.storeIsFailing)
    }
}
