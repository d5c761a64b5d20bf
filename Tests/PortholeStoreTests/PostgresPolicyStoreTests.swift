import Foundation
import PortholeCore
import NIOConcurrencyHelpers
@testable import PortholePostgres
import PortholeStore
import PortholeTestSupport
import Testing

/// What only the PostgreSQL store has: notifications, concurrent migrations, outages it rides out.
@Suite("PostgresPolicyStore", .serialized, .enabled(if: PostgresCluster.isInstalled, "PostgreSQL is not installed"))
struct PostgresPolicyStoreTests {
    /// Generous by default: the suite shares two cores with every other test.
    static func open(_ cluster: PostgresCluster, timeout: Duration = .seconds(20)) async throws -> PostgresPolicyStore {
        try await PostgresPolicyStore.open(
            url: try PostgresStoreURL.parse(cluster.url), configuration: .init(operationTimeout: timeout), logger: testLogger
        )
    }

    /// Whether a write through `writer` wakes `reader` long before its 20 s timeout; tried a few
    /// times, since the LISTEN connection may still be on its way back.
    static func notificationsArrive(at reader: PostgresPolicyStore, from writer: PostgresPolicyStore) async throws -> Bool {
        for _ in 0..<20 {
            let latest = try await reader.changes(after: 0).latest
            let started = ContinuousClock.now
            async let wait: Void = reader.waitForChanges(after: latest, timeout: .seconds(20))
            try await Task.sleep(for: .milliseconds(300))
            try await writer.update(samplePolicy("a", target: "10.0.0.\(Int.random(in: 2...250))"))
            await wait
            if ContinuousClock.now - started < .seconds(10) { return true }
        }
        return false
    }

    @Test func aWriteWakesEveryOtherInstanceAtOnce() async throws {
        try await PostgresCluster.with { cluster in
            let writer = try await Self.open(cluster)
            let reader = try await Self.open(cluster)
            defer {
                Task {
                    try? await writer.close()
                    try? await reader.close()
                }
            }
            let cursor = try await reader.changes(after: 0).latest
            let started = ContinuousClock.now
            async let woken: Void = reader.waitForChanges(after: cursor, timeout: .seconds(30))
            // Written by hand, as an operator's psql would: the trigger notifies all the same.
            try await Task.sleep(for: .milliseconds(200))
            try await cluster.psql(
                "INSERT INTO sandboxes VALUES ('by-hand', '10.0.0.9', false, 't', 1, false, NULL, 3, '{}', false, 'started', 1, 1, '{}', NULL)",
                database: "porthole")
            await woken
            #expect(ContinuousClock.now - started < .seconds(10), "woken by the notification, not the 30 s timeout")
            #expect(try await reader.changes(after: cursor).ids == ["by-hand"])
            #expect(try await reader.policy(id: "by-hand")?.target == "10.0.0.9")
        }
    }

    @Test func aKilledListenConnectionIsReplacedAndNothingIsMissed() async throws {
        try await PostgresCluster.with { cluster in
            let reader = try await Self.open(cluster)
            let writer = try await Self.open(cluster)
            defer {
                Task {
                    try? await reader.close()
                    try? await writer.close()
                }
            }
            try await writer.create(samplePolicy("a"))
            let cursor = try await reader.changes(after: 0).latest
            // Each store LISTENs on a connection of its own, opened in the background: both must
            // be listening before the server ends them.
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    try await cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'", database: "porthole") == "2\n"
                })
            // The server ends the LISTEN session (an admin, a failover, a proxy's idle timeout).
            let killed = try await cluster.psql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'", database: "porthole"
            )
            #expect(killed == "2\n", "each store's one listening connection: \(killed)")
            // Written while nobody listens: the feed still has it.
            try await writer.update(samplePolicy("a", target: "10.0.0.2"))
            #expect(try await reader.changes(after: cursor).ids == ["a"])
            // And notifications come back: a write wakes the reader long before its timeout.
            #expect(try await Self.notificationsArrive(at: reader, from: writer))
        }
    }

    @Test func tlsToTheDatabaseIsVerifiedWhenTheURLAsksForIt() async throws {
        try await PostgresCluster.with(tls: true) { cluster in
            // verify-full with the CA that signed the server: encrypted, and it works.
            let store = try await PostgresPolicyStore.open(url: try PostgresStoreURL.parse(cluster.tlsURL()), logger: testLogger)
            try await store.create(samplePolicy("over-tls"))
            #expect(try await store.policy(id: "over-tls") != nil)
            let encrypted = try await cluster.psql(
                "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE ssl AND client_addr IS NOT NULL", database: "porthole"
            )
            #expect(Int(encrypted.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 1, "the store's connections use TLS")
            try await store.close()

            // Another CA: the server cannot prove who it is, and nothing is sent.
            let stranger = try TestPaths.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: stranger) }
            let made = try await CommandResult.run(
                TestPaths.which("openssl"),
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=someone else",
                    "-keyout", stranger + "/key.pem", "-out", stranger + "/ca.pem",
                ])
            #expect(made.status == 0)
            let refused = await #expect(throws: PolicyStoreError.self) {
                try await PostgresPolicyStore.open(
                    url: try PostgresStoreURL.parse(cluster.tlsURL(rootCertificate: stranger + "/ca.pem")),
                    configuration: .init(operationTimeout: .seconds(5)), logger: testLogger
                )
            }
            #expect(refused?.code == .unavailable)
        }
        // A server without TLS and a URL that requires it: refused, never sent in the clear.
        try await PostgresCluster.with { cluster in
            let refused = await #expect(throws: PolicyStoreError.self) {
                try await PostgresPolicyStore.open(
                    url: try PostgresStoreURL.parse(cluster.url.replacingOccurrences(of: "sslmode=disable", with: "sslmode=require")),
                    configuration: .init(operationTimeout: .seconds(5)), logger: testLogger
                )
            }
            #expect(refused?.code == .unavailable)
        }
    }

    @Test func instancesStartingTogetherMigrateOnceAndANewerSchemaIsRefused() async throws {
        try await PostgresCluster.with { cluster in
            let stores = try await withThrowingTaskGroup(of: PostgresPolicyStore.self) { group in
                for _ in 0..<4 { group.addTask { try await Self.open(cluster) } }
                var stores: [PostgresPolicyStore] = []
                for try await store in group { stores.append(store) }
                return stores
            }
            try await stores[0].create(samplePolicy("a"))
            #expect(try await stores[3].policy(id: "a") != nil)
            for store in stores { try await store.close() }
            #expect(try await cluster.psql("SELECT version FROM porthole_schema", database: "porthole") == "\(PostgresPolicyStore.schemaVersion)\n")

            try await cluster.psql("UPDATE porthole_schema SET version = 99", database: "porthole")
            let error = await #expect(throws: PolicyStoreError.self) { try await Self.open(cluster) }
            #expect(error?.code == .unsupportedSchema)
            #expect(error.map { "\($0)" }?.contains(cluster.password) == false, "the password never shows")
        }
    }

    @Test func aVersion1DatabaseGainsOrganizationsInPlace() async throws {
        try await PostgresCluster.with { cluster in
            let store = try await Self.open(cluster)
            try await store.create(samplePolicy("old"))
            try await store.close()
            // Back to version 1: without what version 2 added.
            for statement in [
                "DROP TABLE api_keys", "DROP TABLE organizations", "DROP INDEX sandboxes_by_organization",
                "ALTER TABLE sandboxes DROP COLUMN organization_id", "UPDATE porthole_schema SET version = 1",
            ] {
                try await cluster.psql(statement, database: "porthole")
            }
            let migrated = try await Self.open(cluster)
            #expect(try await cluster.psql("SELECT version FROM porthole_schema", database: "porthole") == "2\n")
            #expect(try await migrated.policy(id: "old") == samplePolicy("old"), "the record is kept, of no organisation")
            #expect(try await migrated.createOrganization(Organization(id: "acme", tier: 1, createdAt: 1, updatedAt: 1)))
            try await migrated.close()
        }
    }

    @Test func anOutageFailsFastAsUnavailableAndEndsWithoutReopening() async throws {
        try await PostgresCluster.with { cluster in
            let store = try await Self.open(cluster, timeout: .seconds(1))
            let other = try await Self.open(cluster)
            defer {
                Task {
                    try? await store.close()
                    try? await other.close()
                }
            }
            try await store.create(samplePolicy("a", target: "10.0.0.1"))

            await cluster.stopServer()
            let started = ContinuousClock.now
            let error = await #expect(throws: PolicyStoreError.self) { try await store.policy(id: "a") }
            #expect(error?.code == .unavailable)
            #expect(ContinuousClock.now - started < .seconds(10), "the operation timeout (1 s) bounds the wait")
            #expect(error.map { "\($0)" }?.contains(cluster.password) == false)
            await #expect(throws: PolicyStoreError.self) { try await store.checkAvailable() }

            try await cluster.startServer()
            // The pool reconnects by itself; the LISTEN connection too (within its backoff).
            var back = false
            for _ in 0..<100 where !back {
                back = (try? await store.policy(id: "a"))??.target == "10.0.0.1"
                if !back { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(back)
            try await store.checkAvailable()
            #expect(try await Self.notificationsArrive(at: store, from: other), "notifications are back after the outage")
        }
    }
}

@Suite("PostgresPolicyStore deadline")
struct PostgresDeadlineTests {
    /// An operation that ignores cancellation (as one stuck in a connection pool may).
    final class Gate: Sendable {
        private let state = NIOLockedValueBox<(open: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

        func wait() async {
            await withCheckedContinuation { continuation in
                let go = state.withLockedValue { state -> Bool in
                    if state.open { return true }
                    state.waiter = continuation
                    return false
                }
                if go { continuation.resume() }
            }
        }

        func open() {
            state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                state.open = true
                defer { state.waiter = nil }
                return state.waiter
            }?.resume()
        }
    }

    /// The gate opens only after `withDeadline` returned: had it waited for the operation, the
    /// test would hang (and fail at its time limit), not just run slow. No clock is asserted.
    @Test(.timeLimit(.minutes(1)))
    func anOperationThatIgnoresCancellationStillEndsAtItsDeadline() async throws {
        let gate = Gate()
        let error = await #expect(throws: PolicyStoreError.self) {
            try await PostgresPolicyStore.withDeadline(.milliseconds(200)) {
                await gate.wait()
                return 1
            } onTimeout: {
                PolicyStoreError.unavailable("no answer within 200 ms")
            }
        }
        #expect(error?.code == .unavailable)
        gate.open()
        // And one that answers in time gets its answer.
        let answer = try await PostgresPolicyStore.withDeadline(.seconds(5)) {
            42
        } onTimeout: {
            PolicyStoreError.unavailable("late")
        }
        #expect(answer == 42)
    }
}

@Suite("PostgresStoreURL")
struct PostgresStoreURLTests {
    @Test func theURLsOperatorsWrite() throws {
        let plain = try PostgresStoreURL.parse("postgresql://porthole:s%40cret@db.internal:6432/policies?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(plain.endpoint == .tcp(host: "db.internal", port: 6432))
        #expect(plain.username == "porthole" && plain.password == "s@cret" && plain.database == "policies")
        #expect(plain.tlsMode == .verifyFull && plain.rootCertificatePath == "/etc/ca.pem")
        #expect("\(plain)" == "postgresql://porthole:***@db.internal:6432/policies?sslmode=verify-full")

        let short = try PostgresStoreURL.parse("postgres://u@[2001:db8::5]/d")
        #expect(short.endpoint == .tcp(host: "2001:db8::5", port: 5432))
        #expect(short.tlsMode == .prefer && short.password == nil)
        #expect("\(short)" == "postgresql://u@[2001:db8::5]:5432/d?sslmode=prefer")

        let socket = try PostgresStoreURL.parse("postgresql://u@/d?host=/run/postgresql")
        #expect(socket.endpoint == .unixSocket(path: "/run/postgresql/.s.PGSQL.5432"))
        #expect(socket.tlsMode == .disable)
        let socketPort = try PostgresStoreURL.parse("postgresql://u@/d?host=/tmp/pg&port=5433")
        #expect(socketPort.endpoint == .unixSocket(path: "/tmp/pg/.s.PGSQL.5433"))
    }

    @Test(arguments: [
        ("mysql://u:p@h/d", "postgresql://"),
        ("postgresql://h/d", "no user"),
        ("postgresql://u:p@h", "no database"),
        ("postgresql://u:p@h/d?sslmode=maybe", "sslmode \"maybe\""),
        ("postgresql://u:p@h/d?connect_timeout=3", "\"connect_timeout\" is not supported"),
        ("postgresql://u:p@h:0/d", "port"),
        ("postgresql://u:p@/d?host=relative", "UNIX socket directory"),
        ("postgresql://u:p@/d?host=/run/postgresql&sslmode=require", "cannot be met over a UNIX socket"),
    ])
    func badURLsSayWhatIsWrong(text: String, message: String) {
        #expect {
            try PostgresStoreURL.parse(text)
        } throws: { error in
            "\(error)".contains(message) && !"\(error)".contains(":p@")
        }
    }
}
