import Foundation
import PortholeCore
@testable import PortholeStore
import Testing

/// Schema version 2 (revoked signed preview URLs in the record), version 3 (the domain allow list),
/// version 4 (egress agents' reports), and the migrations from versions 1, 2 and 3.
@Suite("SQLitePolicyStore schema migration")
struct SchemaMigrationTests {
    /// Takes a database back from version 5 to version 4.
    static func dropVersion5(_ store: SQLitePolicyStore) async throws {
        _ = try await store.query("DROP INDEX sandboxes_by_organization")
        _ = try await store.query("ALTER TABLE sandboxes DROP COLUMN organization_id")
        _ = try await store.query("DROP TABLE api_keys")
        _ = try await store.query("DROP TABLE organizations")
        _ = try await store.query("PRAGMA user_version = 4")
    }

    /// Takes a database back from version 5 to version 3.
    static func dropVersion4(_ store: SQLitePolicyStore) async throws {
        try await dropVersion5(store)
        _ = try await store.query("DROP TRIGGER egress_reports_sandbox_deleted")
        _ = try await store.query("DROP TABLE egress_reports")
        _ = try await store.query("PRAGMA user_version = 3")
    }

    /// A record as versions 3 and 4 store it (no organisation column).
    static func insertVersion4Row(_ store: SQLitePolicyStore, id: String) async throws {
        _ = try await store.query(
            """
            INSERT INTO sandboxes VALUES ('\(id)', '10.0.0.1', 0, 'tok', 1, 0, NULL, 3, '{}', 0, 'started', 0, 0, '{}', NULL)
            """
        )
    }

    static func report(_ id: String, source: String = "10.0.0.1", at time: Int64 = 100, blocked: Int64 = 0) -> EgressReport {
        EgressReport(
            sandboxId: id, host: "host-a", reportedAt: time, source: source, appliedClass: .allowList,
            resolvedAddresses: [.init(name: "pypi.org", address: "203.0.113.20", expiresAt: time + 40, shared: true)],
            droppedPackets: .init(blockedAll: blocked, neverReachable: 2, notAllowed: 3)
        )
    }

    @Test func aVersion3DatabaseGainsEgressReports() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/p.sqlite"
        let old = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        try await Self.dropVersion4(old)
        try await Self.insertVersion4Row(old, id: "v3")
        try await old.close()

        let store = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        #expect(try await store.query("PRAGMA user_version").first?.column("user_version")?.integer == 5)
        #expect(try await store.egressReport(sandboxID: "v3") == nil)
        try await store.publish([Self.report("v3")])
        #expect(try await store.egressReport(sandboxID: "v3") == Self.report("v3"))
        try await store.close()
    }

    @Test func aVersion4DatabaseGainsOrganizations() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/p.sqlite"
        let old = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        try await Self.dropVersion5(old)
        try await Self.insertVersion4Row(old, id: "v4")
        try await old.close()

        let store = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        #expect(try await store.query("PRAGMA user_version").first?.column("user_version")?.integer == 5)
        #expect(try await store.policy(id: "v4")?.organizationID == nil, "an existing sandbox belongs to no organisation")
        #expect(try await store.organizations().isEmpty)
        #expect(try await store.createOrganization(Organization(id: "acme", tier: 2, createdAt: 1, updatedAt: 1)))
        try await store.close()
    }

    @Test func aMalformedEgressReportIsReportedAsCorrupt() async throws {
        try await withSQLiteStore { store, _ in
            try await store.create(samplePolicy("b"))
            try await store.publish([Self.report("b")])
            _ = try await store.query("UPDATE egress_reports SET report = '{' WHERE sandbox_id = 'b'")
            let error = await #expect(throws: PolicyStoreError.self) { try await store.egressReport(sandboxID: "b") }
            #expect(error?.code == .corrupt)
        }
    }

    @Test func aVersion1DatabaseIsMigratedInPlace() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/p.sqlite"
        // Make a version 1 database: today's schema without the columns of versions 2 and 3.
        let old = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        try await Self.dropVersion4(old)
        _ = try await old.query("ALTER TABLE sandboxes DROP COLUMN domain_allow_list")
        _ = try await old.query("ALTER TABLE sandboxes DROP COLUMN revoked_grants")
        _ = try await old.query("PRAGMA user_version = 1")
        _ = try await old.query(
            """
            INSERT INTO sandboxes VALUES ('v1', '10.0.0.1', 1, 'tok', 3, 0, '10.0.0.0/8', 3, '{"a":"b"}', 0, 'started', 10, 20)
            """
        )
        try await old.close()

        let store = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        #expect(try await store.query("PRAGMA user_version").first?.column("user_version")?.integer == 5)
        let migrated = try #require(try await store.policy(id: "v1"))
        #expect(
            migrated
                == SandboxPolicy(
                    id: "v1", target: "10.0.0.1", isPublic: true, previewToken: "tok", tokenGeneration: 3, networkAllowList: "10.0.0.0/8",
                    labels: ["a": "b"], createdAt: 10, updatedAt: 20
                ))
        #expect(migrated.revokedGrants.isEmpty)
        #expect(migrated.domainAllowList == nil)
        try await store.close()
    }

    @Test func aVersion2DatabaseIsMigratedInPlace() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/p.sqlite"
        // Make a version 2 database: today's schema without the version 3 column, holding a record
        // with every field of version 2 set and a change feed entry.
        let old = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        try await Self.dropVersion4(old)
        _ = try await old.query("ALTER TABLE sandboxes DROP COLUMN domain_allow_list")
        _ = try await old.query("PRAGMA user_version = 2")
        _ = try await old.query(
            """
            INSERT INTO sandboxes VALUES ('v2', 'fd00::2', 0, 'tok', 7, 1, '10.0.0.0/8', 4, '{}', 1, 'stopped', 10, 20,
                                          '{"AAAAAAAAAAAAAAAA":1800000000}')
            """
        )
        let feed = try await old.changes(after: 0).latest
        try await old.close()

        let store = try await SQLitePolicyStore.open(path: path, logger: testLogger)
        #expect(try await store.query("PRAGMA user_version").first?.column("user_version")?.integer == 5)
        let migrated = try #require(try await store.policy(id: "v2"))
        #expect(
            migrated
                == SandboxPolicy(
                    id: "v2", target: "fd00::2", previewToken: "tok", tokenGeneration: 7, networkBlockAll: true, networkAllowList: "10.0.0.0/8",
                    tier: 4, hostRewrite: true, state: .stopped, createdAt: 10, updatedAt: 20, revokedGrants: ["AAAAAAAAAAAAAAAA": 1_800_000_000]
                ))
        #expect(migrated.domainAllowList == nil)
        // The migration is not a change of any sandbox, and the feed's cursor stays valid.
        #expect(try await store.changes(after: feed) == PolicyChanges(latest: feed, ids: [], isComplete: true))
        // The upgraded file takes the new field like a new one.
        var changed = migrated
        changed.domainAllowList = "pypi.org,*.github.com"
        try await store.update(changed)
        #expect(try await store.policy(id: "v2")?.domainAllowList == "pypi.org,*.github.com")
        #expect(try await store.changes(after: feed).ids == ["v2"])
        try await store.close()
    }

    @Test func domainAllowListsRoundTripAndClear() async throws {
        try await withSQLiteStore { store, _ in
            var policy = samplePolicy("d")
            policy.domainAllowList = "pypi.org,*.github.com"
            try await store.create(policy)
            #expect(try await store.policy(id: "d") == policy)
            #expect(try await store.list(label: nil, after: nil, limit: 10).first?.domainAllowList == "pypi.org,*.github.com")
            policy.domainAllowList = nil
            try await store.update(policy)
            #expect(try await store.policy(id: "d")?.domainAllowList == nil)
            // NULL in the column, not an empty string: "no list" and "an empty list" must not blur.
            let raw = try await store.query("SELECT domain_allow_list FROM sandboxes WHERE id = 'd'").first?.column("domain_allow_list")
            #expect(raw == .null)
        }
    }

    @Test func aMalformedDomainAllowListColumnIsReportedAsCorrupt() async throws {
        try await withSQLiteStore { store, _ in
            try await store.create(samplePolicy("bad"))
            // A blob: TEXT affinity would turn a number into text.
            _ = try await store.query("UPDATE sandboxes SET domain_allow_list = x'2a' WHERE id = 'bad'")
            let error = await #expect(throws: PolicyStoreError.self) { try await store.policy(id: "bad") }
            #expect(error?.code == .corrupt)
            #expect(error.map { "\($0)" }?.contains("domain_allow_list") == true)
        }
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
