public import Logging
public import NIOCore
public import NIOPosix
public import PortholeCore
import NIOConcurrencyHelpers
import SQLiteNIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The embedded default ``PolicyStore``: one SQLite file, shared by the server and the
/// `porthole sandbox …` commands.
///
/// - Durability: WAL journal with `synchronous=FULL`, so a write has reached the disk before its
///   call returns (a `kill -9` right after the admin API answered loses nothing).
/// - Several processes: every process opens the file with a busy timeout; a write waits for
///   another process's write up to ``Configuration/busyTimeout`` and then fails with
///   ``PolicyStoreError/Code/unavailable``. WAL needs all processes on the same host (it uses
///   shared memory), which is the case for the server and the CLI.
/// - Change feed: SQL triggers append every insert, update and delete of a sandbox to the
///   `changes` table inside the writing statement's own transaction, so the feed cannot miss a
///   write whoever makes it (this store, another process, or an operator's `sqlite3` shell).
///   A trigger keeps the newest ``changeFeedRetention`` entries.
/// - The file itself: if it is deleted, moved or replaced while the store is open, SQLite would go
///   on writing the old inode, which no later start opens. The store checks before each write and
///   on every change-feed read (the policy cache's poll) that the path still names the file it
///   opened; once it does not, writes fail with ``PolicyStoreError/Code/fileReplaced`` until a
///   restart, and the loss is logged once. Reads go on answering from the old file, so what it
///   holds can still be exported.
/// - Threads: all SQLite calls run on one private thread, so they never block an event loop and
///   never interleave; concurrent callers queue.
///
/// Call ``close()`` before dropping the store.
public final class SQLitePolicyStore: PolicyStore {
    public struct Configuration: Sendable {
        /// How long a write waits for another process's write lock before failing.
        public var busyTimeout: TimeAmount

        public init(busyTimeout: TimeAmount = .seconds(5)) {
            self.busyTimeout = busyTimeout
        }
    }

    /// Change-feed entries kept; a reader that falls further behind gets
    /// ``PolicyChanges/isComplete`` `false` and must invalidate everything.
    public static let changeFeedRetention: Int64 = 10_000

    /// The schema version this build writes (`PRAGMA user_version`).
    static let schemaVersion = 5

    /// Where the database lives.
    public let path: String

    private let connection: SQLiteConnection
    private let file: DatabaseFileIdentity
    private let threadPool: NIOThreadPool
    private let lifecycle = NIOLockedValueBox(Lifecycle())
    private let logger: Logger

    private struct Lifecycle {
        /// Set by `close()`; no new operation starts afterwards.
        var isClosing = false
        /// Operations between `enter()` and `leave()`.
        var inFlight = 0
        /// `close()` waiting for `inFlight` to reach zero.
        var drained: CheckedContinuation<Void, Never>?
        /// Set once the path stopped naming the opened file; never cleared (only a restart reopens).
        var fileLost: PolicyStoreError?
    }

    private init(
        path: String, connection: SQLiteConnection, file: DatabaseFileIdentity, threadPool: NIOThreadPool, logger: Logger
    ) {
        self.path = path
        self.connection = connection
        self.file = file
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// A missing parent directory is created with mode 0700 and a new database file with mode
    /// 0600: the file holds preview tokens.
    public static func open(
        path: String,
        configuration: Configuration = .init(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws -> SQLitePolicyStore {
        let file = try DatabaseFile.prepare(path: path, logger: logger)

        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: .file(path: path),
                threadPool: threadPool,
                logger: logger,
                on: eventLoopGroup.any()
            )
        } catch {
            file.close()
            try? await threadPool.shutdownGracefully()
            throw Self.storeError(error, path: path)
        }

        let store = SQLitePolicyStore(path: path, connection: connection, file: file, threadPool: threadPool, logger: logger)
        do {
            try await store.configureConnection(configuration)
            try await store.migrate()
        } catch {
            try? await connection.close()
            file.close()
            try? await threadPool.shutdownGracefully()
            throw Self.storeError(error, path: path)
        }
        return store
    }

    // MARK: - PolicyStore

    public func policy(id: String) async throws -> SandboxPolicy? {
        let rows = try await self.query("SELECT * FROM sandboxes WHERE id = ?1", [.text(id)])
        return try rows.first.map(Self.decode)
    }

    public func list(label: (key: String, value: String)?, organizationID: String?, after: String?, limit: Int) async throws -> [SandboxPolicy] {
        guard limit > 0 else { return [] }
        // A label filter scans `json_each` of every row after the cursor; fine for the admin API
        // at thousands of sandboxes. A label index table would be the next step.
        let rows = try await self.query(
            """
            SELECT * FROM sandboxes
            WHERE (?1 IS NULL OR id > ?1)
              AND (?2 IS NULL OR EXISTS (
                    SELECT 1 FROM json_each(sandboxes.labels) AS label
                    WHERE label.key = ?2 AND label.value = ?3 AND label.type = 'text'))
              AND (?5 IS NULL OR organization_id = ?5)
            ORDER BY id
            LIMIT ?4
            """,
            [
                after.map { .text($0) } ?? .null,
                label.map { .text($0.key) } ?? .null,
                label.map { .text($0.value) } ?? .null,
                .integer(limit),
                organizationID.map { .text($0) } ?? .null,
            ]
        )
        return try rows.map(Self.decode)
    }

    public func create(_ policy: SandboxPolicy) async throws {
        try self.checkFile()
        // `ON CONFLICT DO NOTHING … RETURNING` reports a taken id as "no row" instead of
        // depending on which constraint error code SQLite chooses.
        let rows = try await self.query(
            """
            INSERT INTO sandboxes (\(Self.columnList))
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
            ON CONFLICT (id) DO NOTHING
            RETURNING id
            """,
            try Self.encode(policy)
        )
        guard !rows.isEmpty else {
            throw PolicyStoreError.alreadyExists(policy.id)
        }
    }

    public func update(_ policy: SandboxPolicy) async throws {
        try self.checkFile()
        let rows = try await self.query(
            """
            UPDATE sandboxes SET
                target = ?2, is_public = ?3, preview_token = ?4, token_generation = ?5,
                network_block_all = ?6, network_allow_list = ?7, tier = ?8, labels = ?9,
                host_rewrite = ?10, state = ?11, created_at = ?12, updated_at = ?13, revoked_grants = ?14,
                domain_allow_list = ?15, organization_id = ?16
            WHERE id = ?1
            RETURNING id
            """,
            try Self.encode(policy)
        )
        guard !rows.isEmpty else {
            throw PolicyStoreError.notFound(policy.id)
        }
    }

    public func delete(id: String) async throws -> Bool {
        try self.checkFile()
        let rows = try await self.query("DELETE FROM sandboxes WHERE id = ?1 RETURNING id", [.text(id)])
        return !rows.isEmpty
    }

    public func changes(after sequence: Int64) async throws -> PolicyChanges {
        // The policy cache polls this every 250 ms: the periodic check of the file, so its loss is
        // noticed (logged, readiness failing) without waiting for a write. Reads go on regardless.
        _ = try? self.checkFile()
        // One statement, so the newest sequence and the ids come from one read snapshot: a write
        // committed between two separate reads could otherwise be counted in `latest` but missing
        // from `ids`, and the reader would skip it forever. The first row (sandbox_id NULL)
        // carries the newest and the oldest retained sequence numbers.
        let rows = try await self.query(
            """
            SELECT NULL AS sandbox_id,
                   ifnull((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0) AS seq,
                   ifnull((SELECT min(seq) FROM changes), 0) AS oldest
            UNION ALL
            SELECT sandbox_id, seq, NULL FROM changes WHERE seq > ?1
            """,
            [.integer(Int(sequence))]
        )
        var latest: Int64 = 0
        var oldest: Int64 = 0
        var changed: [(seq: Int64, id: String)] = []
        for row in rows {
            guard let seq = row.column("seq")?.integer else {
                throw PolicyStoreError.corrupt("a change feed row in \(self.path) has no sequence number")
            }
            if let id = row.column("sandbox_id")?.string {
                changed.append((Int64(seq), id))
            } else {
                latest = Int64(seq)
                oldest = Int64(row.column("oldest")?.integer ?? 0)
            }
        }
        changed.sort { $0.seq < $1.seq }
        var seen = Set<String>()
        let ids = changed.compactMap { seen.insert($0.id).inserted ? $0.id : nil }

        // Complete unless entries after `sequence` were pruned (the oldest retained entry is
        // beyond `sequence + 1`) or the database is not the one `sequence` came from.
        let pruned = sequence < latest && (oldest == 0 || oldest > sequence + 1)
        let fromTheFuture = sequence > latest
        return PolicyChanges(latest: latest, ids: ids, isComplete: !pruned && !fromTheFuture)
    }

    public func publish(_ reports: [EgressReport]) async throws {
        guard !reports.isEmpty else { return }
        try self.checkFile()
        let rows = try reports.map(EgressReportJSON.encode)
        // One statement over a JSON array: one transaction (and one fsync) for the whole batch,
        // however many reports, and only for sandboxes that still exist.
        let batch = "[" + rows.joined(separator: ",") + "]"
        _ = try await self.query(
            """
            INSERT INTO egress_reports (sandbox_id, reported_at, report)
            SELECT json_extract(value, '$.sandboxId'), json_extract(value, '$.reportedAt'), value
            FROM json_each(?1)
            WHERE json_extract(value, '$.sandboxId') IN (SELECT id FROM sandboxes)
            ON CONFLICT (sandbox_id) DO UPDATE SET reported_at = excluded.reported_at, report = excluded.report
            """,
            [.text(batch)]
        )
    }

    public func egressReport(sandboxID: String) async throws -> EgressReport? {
        let rows = try await self.query("SELECT report FROM egress_reports WHERE sandbox_id = ?1", [.text(sandboxID)])
        guard let text = rows.first?.column("report")?.string else { return nil }
        return try EgressReportJSON.decode(text, sandboxID: sandboxID, location: self.path)
    }

    public func checkAvailable() async throws {
        try self.checkFile()
        _ = try await self.policy(id: "-")
    }

    public func close() async throws {
        let mustWait = self.lifecycle.withLockedValue { state -> Bool? in
            guard !state.isClosing else { return nil }
            state.isClosing = true
            return state.inFlight > 0
        }
        guard let mustWait else { return }  // already closed or closing
        if mustWait {
            await withCheckedContinuation { continuation in
                let drained = self.lifecycle.withLockedValue { state -> Bool in
                    if state.inFlight == 0 { return true }
                    state.drained = continuation
                    return false
                }
                if drained { continuation.resume() }
            }
        }
        var closeError: (any Error)?
        do {
            try await self.connection.close()
        } catch {
            closeError = error
        }
        // Only now: closing our descriptor earlier would drop SQLite's POSIX locks on the file.
        self.file.close()
        try? await self.threadPool.shutdownGracefully()
        if let closeError {
            throw Self.storeError(closeError, path: self.path)
        }
    }

    // MARK: - Internal

    /// Journal settings as SQLite reports them, for tests.
    func connectionSettings() async throws -> (journalMode: String, synchronous: Int, busyTimeoutMilliseconds: Int) {
        let journal = try await self.query("PRAGMA journal_mode").first?.column("journal_mode")?.string
        let synchronous = try await self.query("PRAGMA synchronous").first?.column("synchronous")?.integer
        let timeout = try await self.query("PRAGMA busy_timeout").first?.column("timeout")?.integer
        return (journal ?? "", synchronous ?? -1, timeout ?? -1)
    }
}

// MARK: - Running statements

extension SQLitePolicyStore {
    /// Runs one statement (one implicit transaction) and maps failures to `PolicyStoreError`.
    /// Internal rather than private so tests can reach the raw database.
    func query(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try self.enter()
        defer { self.leave() }
        do {
            return try await self.connection.query(sql, binds)
        } catch {
            throw Self.storeError(error, path: self.path)
        }
    }

    /// Throws ``PolicyStoreError/Code/fileReplaced`` if the path no longer names the file this
    /// store opened (now or at an earlier check). A write racing a replacement between this check
    /// and its commit is not caught here; the next check is at most one poll interval later.
    private func checkFile() throws {
        // Counted in flight, so `close()` cannot release the descriptor while it is being checked.
        try self.enter()
        defer { self.leave() }
        if let lost = self.lifecycle.withLockedValue({ $0.fileLost }) {
            throw lost
        }
        guard let change = self.file.change() else { return }
        let error = PolicyStoreError.fileReplaced(path: self.path, change: change.description)
        let isFirst = self.lifecycle.withLockedValue { state -> Bool in
            guard state.fileLost == nil else { return false }
            state.fileLost = error
            return true
        }
        if isFirst {
            self.logger.critical(
                "the policy database was \(change) while porthole was running; refusing writes until a restart reopens it",
                metadata: ["path": "\(self.path)", "error": "\(error)"]
            )
        }
        throw error
    }

    private func enter() throws {
        try self.lifecycle.withLockedValue { state in
            guard !state.isClosing else {
                throw PolicyStoreError.unavailable("the SQLite store at \(self.path) has been closed")
            }
            state.inFlight += 1
        }
    }

    private func leave() {
        let drained = self.lifecycle.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.inFlight -= 1
            guard state.inFlight == 0 else { return nil }
            defer { state.drained = nil }
            return state.drained
        }
        drained?.resume()
    }

    private static func storeError(_ error: any Error, path: String) -> any Error {
        switch error {
        case is PolicyStoreError, is CancellationError:
            return error
        case let error as SQLiteError:
            switch error.reason {
            case .busy, .busyTimeout, .busyInRecovery, .busyInSnapshot, .locked:
                return PolicyStoreError.unavailable(
                    "the database \(path) stayed locked by another process past the busy timeout (\(error.message)); retry, or find the process holding it"
                )
            case .corrupt, .corruptIndex, .corruptSequenceSchema, .corruptVirtualTable, .notADatabase:
                return PolicyStoreError.corrupt("the database \(path) is damaged or not an SQLite database (\(error.message))")
            case .full:
                return PolicyStoreError.unavailable("the disk holding \(path) is full")
            case .readOnly, .readonlyCantLock, .readonlyDirectory, .readonlyInRecovery, .readonlyInRollback,
                .readonlyBackingMoved, .permission, .cantOpen, .cantOpenDirectory, .cantOpenInvalidPath:
                return PolicyStoreError.unavailable(
                    "cannot open or write \(path) (\(error.message)); check that the file and its directory exist and are writable by this user"
                )
            default:
                return PolicyStoreError.unavailable("SQLite failed on \(path): \(error)")
            }
        default:
            return PolicyStoreError.unavailable("\(path): \(error)")
        }
    }
}

// MARK: - Schema

extension SQLitePolicyStore {
    private func configureConnection(_ configuration: Configuration) async throws {
        // First, so that the WAL switch below already waits for a concurrently opening process.
        // This replaces SQLiteNIO's retry-forever busy handler with a bounded wait.
        let milliseconds = max(0, configuration.busyTimeout.nanoseconds / 1_000_000)
        _ = try await self.query("PRAGMA busy_timeout = \(milliseconds)")
        let mode = try await self.query("PRAGMA journal_mode = WAL").first?.column("journal_mode")?.string
        guard mode?.lowercased() == "wal" else {
            throw PolicyStoreError.unavailable(
                "cannot switch \(self.path) to WAL journal mode (SQLite reports '\(mode ?? "nothing")'); the file system may not support shared memory"
            )
        }
        // FULL: in WAL mode NORMAL may lose the last commits on power loss; the admin API
        // promises that an answered write is durable.
        _ = try await self.query("PRAGMA synchronous = FULL")
    }

    private func migrate() async throws {
        let version = try await self.userVersion()
        guard version != Self.schemaVersion else { return }
        guard version < Self.schemaVersion else {
            throw PolicyStoreError.unsupportedSchema(found: version, supported: Self.schemaVersion, location: self.path)
        }
        // Nothing else uses the connection during `open`, so a multi-statement transaction is
        // safe here. IMMEDIATE takes the write lock first, so a second process migrating at the
        // same moment waits and then sees the new version instead of migrating twice.
        _ = try await self.query("BEGIN IMMEDIATE")
        do {
            let current = try await self.userVersion()
            if current < Self.schemaVersion {
                // Each version's statements run once, in order, inside this one transaction.
                let migrations = [Self.schemaV1, Self.schemaV2, Self.schemaV3, Self.schemaV4, Self.schemaV5]
                for statements in migrations[current...] {
                    for statement in statements {
                        _ = try await self.query(statement)
                    }
                }
                _ = try await self.query("PRAGMA user_version = \(Self.schemaVersion)")
                self.logger.info(
                    current == 0 ? "created policy database schema" : "migrated policy database schema",
                    metadata: ["path": "\(self.path)", "from": "\(current)", "version": "\(Self.schemaVersion)"]
                )
            }
            _ = try await self.query("COMMIT")
        } catch {
            _ = try? await self.query("ROLLBACK")
            throw error
        }
    }

    private func userVersion() async throws -> Int {
        Int(try await self.query("PRAGMA user_version").first?.column("user_version")?.integer ?? 0)
    }

    /// Version 1. Later versions append migrations; a shipped statement is never edited.
    private static let schemaV1: [String] = [
        """
        CREATE TABLE sandboxes (
            id TEXT PRIMARY KEY NOT NULL,
            target TEXT NOT NULL,
            is_public INTEGER NOT NULL,
            preview_token TEXT NOT NULL,
            token_generation INTEGER NOT NULL,
            network_block_all INTEGER NOT NULL,
            network_allow_list TEXT,
            tier INTEGER NOT NULL,
            labels TEXT NOT NULL,
            host_rewrite INTEGER NOT NULL,
            state TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        // AUTOINCREMENT: sequence numbers are never reused, even after pruning, so a reader's
        // cursor stays meaningful.
        "CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, sandbox_id TEXT NOT NULL)",
        """
        CREATE TRIGGER sandboxes_inserted AFTER INSERT ON sandboxes
        BEGIN INSERT INTO changes (sandbox_id) VALUES (NEW.id); END
        """,
        """
        CREATE TRIGGER sandboxes_updated AFTER UPDATE ON sandboxes
        BEGIN
            INSERT INTO changes (sandbox_id) VALUES (NEW.id);
            INSERT INTO changes (sandbox_id) SELECT OLD.id WHERE OLD.id IS NOT NEW.id;
        END
        """,
        """
        CREATE TRIGGER sandboxes_deleted AFTER DELETE ON sandboxes
        BEGIN INSERT INTO changes (sandbox_id) VALUES (OLD.id); END
        """,
        """
        CREATE TRIGGER changes_pruned AFTER INSERT ON changes
        BEGIN DELETE FROM changes WHERE seq <= NEW.seq - \(changeFeedRetention); END
        """,
    ]

    /// Version 2: revoked signed preview URLs (`SandboxPolicy.revokedGrants`), a JSON object of grant
    /// id → expiry. A column of the record rather than a table of its own, so a revocation is one
    /// update of the record: the `sandboxes_updated` trigger puts it on the change feed like any other
    /// change, and the cached policy carries it to the proxy.
    private static let schemaV2: [String] = [
        "ALTER TABLE sandboxes ADD COLUMN revoked_grants TEXT NOT NULL DEFAULT '{}'"
    ]

    /// Version 3: the domain allow list (`SandboxPolicy.domainAllowList`), normalized comma-separated
    /// names as the network allow list is kept; `NULL` (every existing row) means none.
    private static let schemaV3: [String] = [
        "ALTER TABLE sandboxes ADD COLUMN domain_allow_list TEXT"
    ]

    /// Version 4: egress agents' reports (``EgressReport``), one row per sandbox, the report as
    /// JSON. A table of its own, off the change feed: agents rewrite reports every few seconds,
    /// and the proxies' caches must not be invalidated by them. Gone with their sandbox.
    private static let schemaV4: [String] = [
        """
        CREATE TABLE egress_reports (
            sandbox_id TEXT PRIMARY KEY NOT NULL,
            reported_at INTEGER NOT NULL,
            report TEXT NOT NULL
        ) WITHOUT ROWID
        """,
        """
        CREATE TRIGGER egress_reports_sandbox_deleted AFTER DELETE ON sandboxes
        BEGIN DELETE FROM egress_reports WHERE sandbox_id = OLD.id; END
        """,
    ]

    /// Version 5: organisations (tier, and the allow lists of tiers 1 and 2) and their API keys,
    /// and the organisation of each sandbox (`NULL`, every existing row: none). Organisations are never deleted, so keys and sandboxes need no
    /// cascade. Not on the change feed: the proxies never read them.
    private static let schemaV5: [String] = [
        "ALTER TABLE sandboxes ADD COLUMN organization_id TEXT",
        "CREATE INDEX sandboxes_by_organization ON sandboxes (organization_id, id)",
        """
        CREATE TABLE organizations (
            id TEXT PRIMARY KEY NOT NULL,
            tier INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            network_allow_list TEXT,
            domain_allow_list TEXT
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY NOT NULL,
            organization_id TEXT NOT NULL,
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        ) WITHOUT ROWID
        """,
        "CREATE INDEX api_keys_by_organization ON api_keys (organization_id, id)",
    ]
}

// MARK: - Organisations and API keys

extension SQLitePolicyStore: OrganizationStore {
    public func organization(id: String) async throws -> Organization? {
        try await self.query("SELECT * FROM organizations WHERE id = ?1", [.text(id)]).first.map(Self.decodeOrganization)
    }

    public func organizations() async throws -> [Organization] {
        try await self.query("SELECT * FROM organizations ORDER BY id").map(Self.decodeOrganization)
    }

    public func createOrganization(_ organization: Organization) async throws -> Bool {
        try self.checkFile()
        return try await !self.query(
            """
            INSERT INTO organizations (id, tier, created_at, updated_at, network_allow_list, domain_allow_list)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            Self.encode(organization)
        ).isEmpty
    }

    public func updateOrganization(_ organization: Organization) async throws -> Bool {
        try self.checkFile()
        return try await !self.query(
            """
            UPDATE organizations SET tier = ?2, updated_at = ?4, network_allow_list = ?5, domain_allow_list = ?6
            WHERE id = ?1 RETURNING id
            """,
            Self.encode(organization)
        ).isEmpty
    }

    public func createAPIKey(_ stored: StoredAPIKey) async throws -> Bool {
        try self.checkFile()
        let key = stored.key
        return try await !self.query(
            """
            INSERT INTO api_keys (id, organization_id, name, secret_hash, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, NULL)
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            [.text(key.id), .text(key.organizationId), .text(key.name), .text(stored.secretHash), .integer(Int(key.createdAt))]
        ).isEmpty
    }

    public func apiKey(id: String) async throws -> StoredAPIKey? {
        try await self.query("SELECT * FROM api_keys WHERE id = ?1", [.text(id)]).first.map(Self.decodeAPIKey)
    }

    public func apiKeys(organizationID: String) async throws -> [StoredAPIKey] {
        try await self.query("SELECT * FROM api_keys WHERE organization_id = ?1 ORDER BY id", [.text(organizationID)]).map(Self.decodeAPIKey)
    }

    public func revokeAPIKey(id: String, at time: Int64) async throws -> Bool {
        try self.checkFile()
        return try await !self.query(
            "UPDATE api_keys SET revoked_at = ifnull(revoked_at, ?2) WHERE id = ?1 RETURNING id", [.text(id), .integer(Int(time))]
        ).isEmpty
    }

    /// Binds `?1` … `?6`: id, tier, created_at, updated_at, network_allow_list, domain_allow_list.
    private static func encode(_ organization: Organization) -> [SQLiteData] {
        [
            .text(organization.id), .integer(organization.tier), .integer(Int(organization.createdAt)),
            .integer(Int(organization.updatedAt)), organization.networkAllowList.map { .text($0) } ?? .null,
            organization.domainAllowList.map { .text($0) } ?? .null,
        ]
    }

    private static func decodeOrganization(_ row: SQLiteRow) throws -> Organization {
        guard case .text(let id)? = row.column("id"), case .integer(let tier)? = row.column("tier"),
            case .integer(let createdAt)? = row.column("created_at"), case .integer(let updatedAt)? = row.column("updated_at")
        else {
            throw PolicyStoreError.corrupt("an organisation row has a missing or malformed column")
        }
        func list(_ name: String) throws -> String? {
            switch row.column(name) {
            case .text(let value)?: return value
            case .null?, nil: return nil
            default: throw PolicyStoreError.corrupt("organisation \(id) has a malformed \(name) column")
            }
        }
        return Organization(
            id: id, tier: tier, networkAllowList: try list("network_allow_list"), domainAllowList: try list("domain_allow_list"),
            createdAt: Int64(createdAt), updatedAt: Int64(updatedAt)
        )
    }

    private static func decodeAPIKey(_ row: SQLiteRow) throws -> StoredAPIKey {
        guard case .text(let id)? = row.column("id"), case .text(let organizationID)? = row.column("organization_id"),
            case .text(let name)? = row.column("name"), case .text(let hash)? = row.column("secret_hash"),
            case .integer(let createdAt)? = row.column("created_at")
        else {
            throw PolicyStoreError.corrupt("an API key row has a missing or malformed column")
        }
        let revokedAt: Int64?
        switch row.column("revoked_at") {
        case .integer(let time)?: revokedAt = Int64(time)
        case .null?, nil: revokedAt = nil
        default: throw PolicyStoreError.corrupt("API key \(id) has a malformed revoked_at column")
        }
        return StoredAPIKey(
            key: APIKey(id: id, organizationId: organizationID, name: name, createdAt: Int64(createdAt), revokedAt: revokedAt), secretHash: hash
        )
    }
}

// MARK: - Rows

extension SQLitePolicyStore {
    private static let columnList =
        "id, target, is_public, preview_token, token_generation, network_block_all, network_allow_list, tier, labels, host_rewrite, state, created_at, updated_at, revoked_grants, domain_allow_list, organization_id"

    /// Binds in `columnList` order (`?1` … `?16`).
    private static func encode(_ policy: SandboxPolicy) throws -> [SQLiteData] {
        let row = try PolicyRow(policy)
        return [
            .text(row.id),
            .text(row.target),
            .integer(row.isPublic ? 1 : 0),
            .text(row.previewToken),
            .integer(Int(row.tokenGeneration)),
            .integer(row.networkBlockAll ? 1 : 0),
            row.networkAllowList.map { .text($0) } ?? .null,
            .integer(Int(row.tier)),
            .text(row.labels),
            .integer(row.hostRewrite ? 1 : 0),
            .text(row.state),
            .integer(Int(row.createdAt)),
            .integer(Int(row.updatedAt)),
            .text(row.revokedGrants),
            row.domainAllowList.map { .text($0) } ?? .null,
            row.organizationID.map { .text($0) } ?? .null,
        ]
    }

    /// Checks each column's SQLite type; ``PolicyRow/policy()`` checks the values.
    private static func decode(_ row: SQLiteRow) throws -> SandboxPolicy {
        let id = row.column("id")?.string ?? "?"
        func field<T>(_ name: String, _ convert: (SQLiteData) -> T?) throws -> T {
            guard let data = row.column(name), let value = convert(data) else {
                throw PolicyStoreError.corrupt("sandbox '\(id)' has a missing or malformed '\(name)' column")
            }
            return value
        }
        func integer(_ data: SQLiteData) -> Int64? {
            if case .integer(let value) = data { Int64(value) } else { nil }
        }
        func text(_ data: SQLiteData) -> String? {
            if case .text(let value) = data { value } else { nil }
        }
        func bool(_ data: SQLiteData) -> Bool? {
            integer(data).flatMap { $0 == 0 ? false : $0 == 1 ? true : nil }
        }
        func optionalText(_ name: String) throws -> String? {
            switch row.column(name) {
            case .text(let value): value
            case .null, nil: nil
            default: throw PolicyStoreError.corrupt("sandbox '\(id)' has a malformed '\(name)' column")
            }
        }
        // A row read without the column (before schema version 2) has no revocations.
        let revokedGrants = try row.column("revoked_grants") == nil ? "{}" : field("revoked_grants", text)
        return try PolicyRow(
            id: try field("id", text),
            target: try field("target", text),
            isPublic: try field("is_public", bool),
            previewToken: try field("preview_token", text),
            tokenGeneration: try field("token_generation", integer),
            networkBlockAll: try field("network_block_all", bool),
            networkAllowList: try optionalText("network_allow_list"),
            tier: try field("tier", integer),
            labels: try field("labels", text),
            hostRewrite: try field("host_rewrite", bool),
            state: try field("state", text),
            createdAt: try field("created_at", integer),
            updatedAt: try field("updated_at", integer),
            revokedGrants: revokedGrants,
            domainAllowList: try optionalText("domain_allow_list"),
            organizationID: try optionalText("organization_id")
        ).policy()
    }
}
