import Foundation
import PortholeCore
@testable import PortholeStore
import Testing

/// Schema version 2 (revoked signed preview URLs in the record) and the migration from version 1.
@Suite("SQLitePolicyStore schema migration")
struct SchemaMigrationTests {
    @Test func aVersion1DatabaseIsMigratedInPlace() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/p.sqlite"
        // Make a version 1 database: today's schema without the version 2 column.
        let old = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        _ = try await old.query("ALTER TABLE sandboxes DROP COLUMN revoked_grants")
        _ = try await old.query("PRAGMA user_version = 1")
        _ = try await old.query(
            """
            INSERT INTO sandboxes VALUES ('v1', '10.0.0.1', 1, 'tok', 3, 0, '10.0.0.0/8', 3, '{"a":"b"}', 0, 'started', 10, 20)
            """
        )
        try await old.close()

        let store = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        #expect(try await store.query("PRAGMA user_version").first?.column("user_version")?.integer == 2)
        let migrated = try #require(try await store.policy(id: "v1"))
        #expect(migrated == SandboxPolicy(
            id: "v1", target: "10.0.0.1", isPublic: true, previewToken: "tok", tokenGeneration: 3, networkAllowList: "10.0.0.0/8",
            labels: ["a": "b"], createdAt: 10, updatedAt: 20
        ))
        #expect(migrated.revokedGrants.isEmpty)
        try await store.close()
    }

    @Test func revokedGrantsRoundTripAndReachTheChangeFeed() async throws {
        try await withSQLiteStore { store, _ in
            var policy = samplePolicy("r")
            try await store.create(policy)
            let before = try await store.changes(after: 0).latest
            policy.revokedGrants = ["AAAAAAAAAAAAAAAA": 1_800_000_000, "BBBBBBBBBBBBBBBB": 1_800_000_001]
            try await store.update(policy)
            #expect(try await store.policy(id: "r")?.revokedGrants == policy.revokedGrants)
            let changes = try await store.changes(after: before)
            #expect(changes.ids == ["r"])
        }
    }

    @Test func malformedRevocationsAreReportedAsCorrupt() async throws {
        try await withSQLiteStore { store, _ in
            try await store.create(samplePolicy("bad"))
            _ = try await store.query("UPDATE sandboxes SET revoked_grants = '[1]' WHERE id = 'bad'")
            let error = await #expect(throws: PolicyStoreError.self) { try await store.policy(id: "bad") }
            #expect(error?.code == .corrupt)
        }
    }
}
