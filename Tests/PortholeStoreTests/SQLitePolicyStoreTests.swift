import NIOCore
import PortholeCore
import Testing
@testable import PortholeStore

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("SQLitePolicyStore")
struct SQLitePolicyStoreTests {
    @Test func createReadUpdateDelete() async throws {
        try await withSQLiteStore { store, _ in
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

    @Test func conflictsAndMissingRecords() async throws {
        try await withSQLiteStore { store, _ in
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

    @Test func listsByIdWithKeysetPaginationAndLabels() async throws {
        try await withSQLiteStore { store, _ in
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

    @Test func changeFeedRecordsEveryWriteInOrder() async throws {
        try await withSQLiteStore { store, _ in
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

    @Test func changeFeedKeepsTheNewestEntriesAndReportsGaps() async throws {
        try await withSQLiteStore { store, _ in
            try await store.create(samplePolicy("a"))
            // Simulate a long history cheaply: move the sequence forward, then write past the
            // retention window in one statement (the triggers prune as they go).
            let retention = SQLitePolicyStore.changeFeedRetention
            _ = try await store.query(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(retention + 10))
                INSERT INTO changes (sandbox_id) SELECT 'x' || i FROM n
                """
            )
            let latest = retention + 11
            let rows = try await store.query("SELECT count(*) AS n, min(seq) AS oldest FROM changes").first
            #expect(rows?.column("n")?.integer == Int(retention))
            #expect(rows?.column("oldest")?.integer == Int(latest - retention + 1))

            let behind = try await store.changes(after: 1)
            #expect(behind.latest == latest)
            #expect(behind.isComplete == false)

            let caughtUp = try await store.changes(after: latest - retention)
            #expect(caughtUp.isComplete)
            #expect(caughtUp.ids.count == Int(retention))
        }
    }

    @Test func survivesCloseAndReopenWithDurableSettings() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/nested/data/policies.sqlite"

        let first = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        try await first.create(samplePolicy("kept", labels: ["k": "v"]))
        let settings = try await first.connectionSettings()
        #expect(settings.journalMode == "wal")
        #expect(settings.synchronous == 2)  // FULL
        #expect(settings.busyTimeoutMilliseconds == 5_000)
        try await first.close()

        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(stat("\(directory.path)/nested/data", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
        #expect(stat("\(directory.path)/nested", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)

        let second = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        #expect(try await second.policy(id: "kept") == samplePolicy("kept", labels: ["k": "v"]))
        #expect(try await second.changes(after: 0).latest == 1)
        try await second.close()
    }

    @Test func committedWritesAreVisibleWithoutClosing() async throws {
        // What a crash right after the answer leaves behind: the writer never closes, and a
        // new connection (as after a restart) must see the write.
        try await withSQLiteStore { writer, directory in
            try await writer.create(samplePolicy("a"))
            let reader = try await SQLitePolicyStore.open(path: writer.path, logger: testLogger)
            #expect(try await reader.policy(id: "a") != nil)
            try await reader.close()
        }
    }

    @Test func tightensAnExistingWorldReadableFile() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/policies.sqlite"
        #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644]))
        let store = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        try await store.close()
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func twoInstancesOnOneFileSeeEachOthersWrites() async throws {
        try await withSQLiteStore { server, _ in
            let cli = try await SQLitePolicyStore.open(path: server.path, logger: testLogger)
            do {
                try await cli.create(samplePolicy("from-cli"))
                #expect(try await server.policy(id: "from-cli") != nil)
                try await server.update(samplePolicy("from-cli", target: "10.0.0.2"))
                #expect(try await cli.policy(id: "from-cli")?.target == "10.0.0.2")

                let feed = try await server.changes(after: 0)
                #expect(feed.ids == ["from-cli"])
                #expect(feed.latest == 2)

                // Both processes writing at once: the busy timeout serialises them.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<20 {
                        let store = index.isMultiple(of: 2) ? server : cli
                        group.addTask { try await store.create(samplePolicy("parallel-\(index)")) }
                    }
                    try await group.waitForAll()
                }
                #expect(try await cli.list(label: nil, after: "parallel-", limit: 100).count == 20)
                #expect(try await server.changes(after: 2).ids.count == 20)
                try await cli.close()
            } catch {
                try? await cli.close()
                throw error
            }
        }
    }

    @Test func concurrentCallsAndClose() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLitePolicyStore.open(path: "\(directory.path)/p.sqlite", logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    try await store.create(samplePolicy("c-\(index)"))
                    _ = try await store.policy(id: "c-\(index)")
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.list(label: nil, after: nil, limit: 1000).count == 50)

        // Calls in flight when close() starts finish; calls after it fail clearly.
        async let inFlight = store.list(label: nil, after: nil, limit: 1000)
        try await store.close()
        _ = try? await inFlight
        let closed = await #expect(throws: PolicyStoreError.self) { try await store.policy(id: "c-1") }
        #expect(closed?.code == .unavailable)
        try await store.close()  // idempotent
    }

    @Test func refusesANewerSchema() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/p.sqlite"
        let store = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        _ = try await store.query("PRAGMA user_version = 99")
        try await store.close()

        let error = await #expect(throws: PolicyStoreError.self) {
            try await SQLitePolicyStore.open(path: path, logger: testLogger)
        }
        #expect(error?.code == .unsupportedSchema)
        #expect(error.map { "\($0)" }?.contains("99") == true)
    }

    @Test func reportsCorruptRecords() async throws {
        try await withSQLiteStore { store, _ in
            try await store.create(samplePolicy("bad"))
            _ = try await store.query("UPDATE sandboxes SET labels = '[1,2]' WHERE id = 'bad'")
            let error = await #expect(throws: PolicyStoreError.self) { try await store.policy(id: "bad") }
            #expect(error?.code == .corrupt)
            #expect(error.map { "\($0)" }?.contains("'bad'") == true)
        }
    }

    @Test func unusableLocationFailsWithAnActionableError() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        #expect(FileManager.default.createFile(atPath: "\(directory.path)/file", contents: nil))
        let error = await #expect(throws: PolicyStoreError.self) {
            try await SQLitePolicyStore.open(path: "\(directory.path)/file/p.sqlite", logger: testLogger)
        }
        #expect(error?.code == .unavailable)
        #expect(error.map { "\($0)" }?.contains("not a directory") == true)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - self.count)) + self
    }
}
