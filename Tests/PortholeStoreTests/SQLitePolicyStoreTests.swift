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
