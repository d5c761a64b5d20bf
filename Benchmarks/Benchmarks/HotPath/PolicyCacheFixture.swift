import Benchmark
import Foundation
import Logging
import NIOCore
import NIOPosix
import PortholeCore
import PortholeStore

/// A SQLite store of `count` sandboxes in a temporary directory, and a one-loop ``PolicyCache`` in
/// front of it with every one of them loaded, as after the proxy has served each sandbox once.
struct PolicyCacheFixture: Sendable {
    let directory: URL
    let group: MultiThreadedEventLoopGroup
    let store: SQLitePolicyStore
    let cache: PolicyCache
    let loop: any EventLoop

    static func make(sandboxes count: Int) async throws -> PolicyCacheFixture {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("porthole-benchmarks-\(UUID().uuidString)", isDirectory: true)
        let logger = Logger(label: "porthole.benchmarks") { _ in SwiftLogNoOpLogHandler() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let store = try await SQLitePolicyStore.open(
            path: directory.appendingPathComponent("policies.sqlite").path,
            eventLoopGroup: group,
            logger: logger
        )
        let ids = (0..<count).map { "sandbox\($0)" }
        for (index, id) in ids.enumerated() {
            try await store.create(
                SandboxPolicy(
                    id: id,
                    target: "127.0.0.1",
                    isPublic: index.isMultiple(of: 2),
                    previewToken: Fixtures.previewToken,
                    labels: ["team": "team\(index % 50)"],
                    createdAt: Fixtures.now,
                    updatedAt: Fixtures.now
                )
            )
        }

        // A TTL longer than any run: an entry expiring mid-measurement would turn hits into store reads.
        let cache = PolicyCache(
            store: store,
            group: group,
            configuration: .init(positiveTTL: .hours(1)),
            logger: logger
        )
        let loop = group.next()
        let loads = try await loop.submit {
            ids.map { id -> EventLoopFuture<SandboxPolicy?> in
                switch cache.lookup(id, on: loop) {
                case .found(let policy): loop.makeSucceededFuture(policy)
                case .notFound: loop.makeSucceededFuture(nil)
                case .pending(let load): load
                }
            }
        }.get()
        let loaded = try await EventLoopFuture.whenAllSucceed(loads, on: loop).get()
        let entries = await cache.metrics.entries
        guard loaded.allSatisfy({ $0 != nil }), entries == count else {
            throw FixtureError("loaded \(loaded.count { $0 != nil }) policies, cached \(entries), expected \(count)")
        }
        return PolicyCacheFixture(directory: directory, group: group, store: store, cache: cache, loop: loop)
    }

    /// `lookup` runs on the cache's loop, as in the proxy: one hop per iteration, outside the
    /// measurement, then the iteration's 1,000 lookups on the loop thread.
    func measureHits(of id: String, _ benchmark: Benchmark) throws {
        // Used on the loop thread while this thread waits for it: never by two threads at once.
        nonisolated(unsafe) let measured = benchmark
        let (cache, loop) = (self.cache, self.loop)
        let hits = try loop.submit {
            var hits = 0
            measured.startMeasurement()
            for _ in measured.scaledIterations {
                let lookup = cache.lookup(id, on: loop)
                if case .found = lookup { hits &+= 1 }
                blackHole(lookup)
            }
            measured.stopMeasurement()
            return hits
        }.wait()
        guard hits == benchmark.scaledIterations.count else {
            throw FixtureError("\(hits) of \(benchmark.scaledIterations.count) lookups of \(id) were hits")
        }
    }

    func close() async throws {
        try await store.close()
        try await group.shutdownGracefully()
        try FileManager.default.removeItem(at: directory)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
