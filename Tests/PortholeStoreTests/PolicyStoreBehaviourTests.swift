import Foundation
import PortholeCore
import PortholePostgres
import PortholeTestSupport
import Testing
@testable import PortholeStore

/// The ``PolicyStore`` contract, proved on both stores: the embedded SQLite file and PostgreSQL (a
/// throwaway cluster per test, as an unprivileged user).
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }
}

func withStore<T>(_ kind: StoreKind, _ body: (any PolicyStore) async throws -> T) async throws -> T {
    switch kind {
    case .sqlite:
        return try await withSQLiteStore { store, _ in try await body(store) }
    case .postgres:
        return try await PostgresCluster.with { cluster in
            // A generous operation timeout: the tests share two cores with every other test.
            let store = try await PostgresPolicyStore.open(
                url: try PostgresStoreURL.parse(cluster.url), configuration: .init(operationTimeout: .seconds(20)), logger: testLogger
            )
            do {
                let result = try await body(store)
                try await store.close()
                return result
            } catch {
                try? await store.close()
                throw error
            }
        }
    }
}

@Suite("PolicyStore behaviour", .serialized, .enabled(if: PostgresCluster.isInstalled, "PostgreSQL is not installed"))
struct PolicyStoreBehaviourTests {
    @Test(arguments: StoreKind.allCases)
    func createReadUpdateDelete(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var policy = SandboxPolicy(
                id: "sbx-1",
                target: "fd00::1",
                isPublic: true,
                previewToken: "secret",
                tokenGeneration: UInt32.max,
                networkBlockAll: true,
                networkAllowList: "10.0.0.0/8,172.16.0.0/12",
                tier: 2,
                labels: ["team": "web", "quote\"key": "välue with spaces", "dots.in.key": ""],
                hostRewrite: true,
                state: .stopped,
                createdAt: 1_700_000_000,
                updatedAt: 1_700_000_001
            )
            try await store.create(policy)
            #expect(try await store.policy(id: "sbx-1") == policy)
            #expect(try await store.policy(id: "sbx-2") == nil)

            policy.isPublic = false
            policy.networkAllowList = nil
            policy.labels = [:]
            policy.state = .started
            policy.updatedAt = 1_700_000_100
            try await store.update(policy)
            #expect(try await store.policy(id: "sbx-1") == policy)

            #expect(try await store.delete(id: "sbx-1"))
            #expect(try await store.policy(id: "sbx-1") == nil)
            #expect(try await store.delete(id: "sbx-1") == false)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func conflictsAndMissingRecords(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.create(samplePolicy("a"))
            let duplicate = await #expect(throws: PolicyStoreError.self) {
                try await store.create(samplePolicy("a", target: "other"))
            }
            #expect(duplicate?.code == .alreadyExists)
            #expect(duplicate?.sandboxID == "a")
            #expect(try await store.policy(id: "a")?.target == "10.1.2.3")

            let missing = await #expect(throws: PolicyStoreError.self) {
                try await store.update(samplePolicy("b"))
            }
            #expect(missing?.code == .notFound)
            #expect(missing.map { "\($0)" }?.contains("'b'") == true)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func listsByIdWithKeysetPaginationAndLabels(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for index in 0..<25 {
                let id = "sbx-\(String(index).leftPadded(to: 2))"
                let labels = index.isMultiple(of: 3) ? ["team": "a", "odd\"key": "x"] : ["team": "b"]
                try await store.create(samplePolicy(id, labels: labels))
            }
            var pages: [[String]] = []
            var after: String?
            while true {
                let page = try await store.list(label: nil, after: after, limit: 10)
                if page.isEmpty { break }
                pages.append(page.map(\.id))
                after = page.last?.id
            }
            #expect(pages.map(\.count) == [10, 10, 5])
            #expect(pages.flatMap { $0 } == (0..<25).map { "sbx-\(String($0).leftPadded(to: 2))" })

            let teamA = try await store.list(label: ("team", "a"), after: nil, limit: 100).map(\.id)
            #expect(teamA == stride(from: 0, to: 25, by: 3).map { "sbx-\(String($0).leftPadded(to: 2))" })
            let teamAPage2 = try await store.list(label: ("team", "a"), after: "sbx-09", limit: 2).map(\.id)
            #expect(teamAPage2 == ["sbx-12", "sbx-15"])
            #expect(try await store.list(label: ("odd\"key", "x"), after: nil, limit: 100).count == 9)
            #expect(try await store.list(label: ("team", "c"), after: nil, limit: 100).isEmpty)
            #expect(try await store.list(label: nil, after: nil, limit: 0).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func changeFeedRecordsEveryWriteInOrder(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let start = try await store.changes(after: 0)
            #expect(start == PolicyChanges(latest: 0, ids: [], isComplete: true))

            try await store.create(samplePolicy("a"))
            try await store.create(samplePolicy("b"))
            try await store.update(samplePolicy("a", target: "10.9.9.9"))
            _ = try await store.delete(id: "b")
            // Failed writes append nothing.
            _ = try? await store.create(samplePolicy("a"))
            _ = try? await store.update(samplePolicy("zzz"))
            #expect(try await store.delete(id: "zzz") == false)

            let all = try await store.changes(after: 0)
            #expect(all.latest == 4)
            #expect(all.ids == ["a", "b"])  // each id once, oldest write first
            #expect(all.isComplete)

            let tail = try await store.changes(after: 3)
            #expect(tail == PolicyChanges(latest: 4, ids: ["b"], isComplete: true))
            #expect(try await store.changes(after: 4) == PolicyChanges(latest: 4, ids: [], isComplete: true))

            // A cursor from the future (another database, or a reset) is reported as incomplete.
            let future = try await store.changes(after: .max)
            #expect(future.latest == 4)
            #expect(future.isComplete == false)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func egressReportsReplaceEachOtherAndGoWithTheirSandbox(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for id in ["a", "b"] { try await store.create(samplePolicy(id)) }
            let feed = try await store.changes(after: 0).latest
            // One batch; a report for a sandbox that does not exist is dropped, not stored.
            try await store.publish([Self.report("a"), Self.report("b"), Self.report("ghost")])
            #expect(try await store.egressReport(sandboxID: "a") == Self.report("a"))
            #expect(try await store.egressReport(sandboxID: "ghost") == nil)
            try await store.publish([Self.report("a", at: 200, blocked: 9)])
            #expect(try await store.egressReport(sandboxID: "a") == Self.report("a", at: 200, blocked: 9))
            #expect(try await store.egressReport(sandboxID: "b") == Self.report("b"))
            try await store.publish([])
            // Reports are not records: the change feed (and so every proxy's cache) never hears of them.
            #expect(try await store.changes(after: feed) == PolicyChanges(latest: feed, ids: []))
            #expect(try await store.delete(id: "a"))
            #expect(try await store.egressReport(sandboxID: "a") == nil)
            try await store.create(samplePolicy("a"))
            #expect(try await store.egressReport(sandboxID: "a") == nil, "a recreated sandbox does not inherit the report")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func organizationsAndTheirKeysAndSandboxes(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let acme = Organization(id: "acme", tier: 2, networkAllowList: "10.0.0.0/8", domainAllowList: "pypi.org", createdAt: 10, updatedAt: 10)
            #expect(try await store.createOrganization(acme))
            #expect(try await !store.createOrganization(Organization(id: "acme", tier: 4, createdAt: 11, updatedAt: 11)), "the id is taken")
            #expect(try await store.createOrganization(Organization(id: "beta", tier: 3, createdAt: 12, updatedAt: 12)))
            #expect(try await store.organization(id: "acme") == acme)
            #expect(try await store.organization(id: "nope") == nil)
            #expect(try await store.organizations().map(\.id) == ["acme", "beta"])
            var moved = acme
            moved.tier = 4
            moved.updatedAt = 20
            moved.networkAllowList = nil
            moved.domainAllowList = "*.github.com"
            #expect(try await store.updateOrganization(moved))
            #expect(try await store.organization(id: "acme") == moved)
            #expect(try await !store.updateOrganization(Organization(id: "nope", tier: 1, createdAt: 0, updatedAt: 0)))

            let key = StoredAPIKey(key: APIKey(id: "k1aaaaaaaaaa", organizationId: "acme", name: "ci", createdAt: 30), secretHash: "ab12")
            #expect(try await store.createAPIKey(key))
            #expect(try await !store.createAPIKey(key), "the id is taken")
            #expect(try await store.apiKey(id: "k1aaaaaaaaaa") == key)
            #expect(try await store.apiKeys(organizationID: "acme") == [key])
            #expect(try await store.apiKeys(organizationID: "beta").isEmpty)
            #expect(try await store.revokeAPIKey(id: "k1aaaaaaaaaa", at: 40))
            #expect(try await store.revokeAPIKey(id: "k1aaaaaaaaaa", at: 50), "idempotent")
            #expect(try await store.apiKey(id: "k1aaaaaaaaaa")?.key.revokedAt == 40, "the first revocation's time stays")
            #expect(try await !store.revokeAPIKey(id: "nokeyaaaaaaa", at: 40))

            // Sandboxes carry their organisation, and lists filter by it.
            var owned = samplePolicy("s1")
            owned.organizationID = "acme"
            try await store.create(owned)
            try await store.create(samplePolicy("s2"))
            #expect(try await store.policy(id: "s1")?.organizationID == "acme")
            #expect(try await store.list(label: nil, organizationID: "acme", after: nil, limit: 10).map(\.id) == ["s1"])
            #expect(try await store.list(label: nil, organizationID: nil, after: nil, limit: 10).map(\.id) == ["s1", "s2"])
            #expect(try await store.list(label: nil, organizationID: "beta", after: nil, limit: 10).isEmpty)
        }
    }

    /// Writers racing each other: every write reaches the feed, and a reader that follows it
    /// (cursor by cursor, as the caches do) misses none, whichever transaction commits first.
    @Test(arguments: StoreKind.allCases)
    func concurrentWritersLoseNothingOnTheFeed(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let writers = 4
            let writes = 25
            let seen = try await withThrowingTaskGroup(of: Set<String>.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for index in 0..<writes { try await store.create(samplePolicy("w\(writer)-\(index)")) }
                        return []
                    }
                }
                group.addTask {
                    var cursor: Int64 = 0
                    var seen = Set<String>()
                    while seen.count < writers * writes {
                        let changes = try await store.changes(after: cursor)
                        #expect(changes.isComplete)
                        seen.formUnion(changes.ids)
                        cursor = changes.latest
                        await store.waitForChanges(after: cursor, timeout: .milliseconds(20))
                    }
                    return seen
                }
                var union = Set<String>()
                for try await part in group { union.formUnion(part) }
                return union
            }
            #expect(seen.count == writers * writes)
        }
    }

    static func report(_ id: String, at time: Int64 = 100, blocked: Int64 = 0) -> EgressReport {
        EgressReport(
            sandboxId: id, host: "host-a", reportedAt: time, source: "10.0.0.1", appliedClass: .allowList,
            resolvedAddresses: [.init(name: "pypi.org", address: "203.0.113.20", expiresAt: time + 40, shared: true)],
            droppedPackets: .init(blockedAll: blocked, neverReachable: 2, notAllowed: 3)
        )
    }
}
