public import Logging
public import NIOCore
public import PortholeCore
public import PortholeStore
import NIOConcurrencyHelpers
public import NIOPosix
import NIOSSL
import PostgresNIO

/// The shared ``PolicyStore`` for several Porthole instances and egress agents: PostgreSQL through
/// postgres-nio's connection pool.
///
/// - Change feed: a trigger on `sandboxes` appends every insert, update and delete to `changes`
///   inside the writing transaction, whoever writes (Porthole, a migration, an operator's psql),
///   numbered from a one-row counter whose row lock orders concurrent writers: a sequence number
///   is never committed after a larger one, so a reader at `n` misses nothing by reading `> n`.
///   The trigger also sends `NOTIFY porthole_changes, '<seq>'`; the store LISTENs on a connection
///   of its own, outside the pool, and wakes every reader at once (``waitForChanges(after:timeout:)``). A lost
///   notification costs one poll interval; a lost LISTEN connection is re-established with
///   backoff, and readers then read the feed at once (anything may have been missed meanwhile).
/// - Migrations: versioned (`porthole_schema`), run at open inside one transaction holding an
///   advisory lock, so instances starting together migrate once; a newer schema is refused.
/// - Outage: each operation gives up after ``Configuration/operationTimeout`` (even one that
///   ignores cancellation) with
///   ``PolicyStoreError/Code/unavailable`` (the proxy answers 503 for what it has not cached);
///   the pool reconnects by itself, nothing needs a restart.
/// - Errors and logs name the database by its URL without the password, and never include a
///   query's values (preview tokens are among them).
public final class PostgresPolicyStore: PolicyStore {
    public struct Configuration: Sendable {
        /// How long one store operation may take before it fails as unavailable.
        public var operationTimeout: Duration
        /// The pool's upper bound of connections (one of them LISTENs).
        public var maximumConnections: Int

        public init(operationTimeout: Duration = .seconds(3), maximumConnections: Int = 8) {
            self.operationTimeout = operationTimeout
            self.maximumConnections = maximumConnections
        }
    }

    /// The schema version this build writes.
    public static let schemaVersion = 2
    /// The NOTIFY channel of the change feed.
    static let channel = "porthole_changes"
    /// Change-feed entries kept, as in the SQLite store.
    public static let changeFeedRetention: Int64 = 10_000

    public let url: PostgresStoreURL
    private let client: PostgresClient
    private let configuration: Configuration
    private let logger: Logger
    private let signal = ChangeSignal()
    private let group: any EventLoopGroup
    private let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])
    private let closed = NIOLockedValueBox(false)

    private init(url: PostgresStoreURL, client: PostgresClient, configuration: Configuration, group: any EventLoopGroup, logger: Logger) {
        self.group = group
        self.url = url
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    /// Connects, brings the schema up to date and starts listening for changes. Fails with
    /// ``PolicyStoreError/Code/unavailable`` when the database cannot be reached in time, and
    /// ``PolicyStoreError/Code/unsupportedSchema`` when a newer Porthole wrote it.
    public static func open(
        url: PostgresStoreURL,
        configuration: Configuration = .init(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws -> PostgresPolicyStore {
        do {
            try await Self.probe(url, configuration, group: eventLoopGroup, logger: Self.quiet(logger))
        } catch {
            throw Self.storeError(error, url: url)
        }
        let clientConfiguration = try Self.clientConfiguration(url, configuration)
        let client = PostgresClient(configuration: clientConfiguration, eventLoopGroup: eventLoopGroup, backgroundLogger: Self.quiet(logger))
        let store = PostgresPolicyStore(url: url, client: client, configuration: configuration, group: eventLoopGroup, logger: logger)
        store.tasks.withLockedValue { $0.append(Task { await client.run() }) }
        do {
            try await store.migrate()
        } catch {
            try? await store.close()
            throw error
        }
        store.tasks.withLockedValue { $0.append(Task { await store.listen() }) }
        return store
    }

    // MARK: - PolicyStore

    public func policy(id: String) async throws -> SandboxPolicy? {
        try await self.run { client, logger in
            var found: SandboxPolicy?
            for try await row in try await client.execute(SelectPolicy(id: id), logger: logger) {
                found = try row.policy()
            }
            return found
        }
    }

    public func list(label: (key: String, value: String)?, organizationID: String?, after: String?, limit: Int) async throws -> [SandboxPolicy] {
        guard limit > 0 else { return [] }
        let key = label?.key
        let value = label?.value
        return try await self.run { client, logger in
            let rows = try await client.query(
                """
                SELECT \(unescaped: Self.columnList) FROM sandboxes
                WHERE (\(after)::text IS NULL OR id > \(after))
                  AND (\(key)::text IS NULL OR (labels::jsonb ->> \(key)) = \(value))
                  AND (\(organizationID)::text IS NULL OR organization_id = \(organizationID))
                ORDER BY id
                LIMIT \(limit)
                """,
                logger: logger
            )
            var policies: [SandboxPolicy] = []
            for try await row in rows {
                policies.append(try Self.decodeRow(row).policy())
            }
            return policies
        }
    }

    public func create(_ policy: SandboxPolicy) async throws {
        let row = try PolicyRow(policy)
        let created = try await self.run { client, logger in
            let rows = try await client.query(
                """
                INSERT INTO sandboxes (\(unescaped: Self.columnList))
                VALUES (\(row.id), \(row.target), \(row.isPublic), \(row.previewToken), \(row.tokenGeneration),
                        \(row.networkBlockAll), \(row.networkAllowList), \(row.tier), \(row.labels), \(row.hostRewrite),
                        \(row.state), \(row.createdAt), \(row.updatedAt), \(row.revokedGrants), \(row.domainAllowList),
                        \(row.organizationID))
                ON CONFLICT (id) DO NOTHING
                RETURNING id
                """,
                logger: logger
            )
            return try await rows.collect().count
        }
        guard created == 1 else { throw PolicyStoreError.alreadyExists(policy.id) }
    }

    public func update(_ policy: SandboxPolicy) async throws {
        let row = try PolicyRow(policy)
        let updated = try await self.run { client, logger in
            let rows = try await client.query(
                """
                UPDATE sandboxes SET
                    target = \(row.target), is_public = \(row.isPublic), preview_token = \(row.previewToken),
                    token_generation = \(row.tokenGeneration), network_block_all = \(row.networkBlockAll),
                    network_allow_list = \(row.networkAllowList), tier = \(row.tier), labels = \(row.labels),
                    host_rewrite = \(row.hostRewrite), state = \(row.state), created_at = \(row.createdAt),
                    updated_at = \(row.updatedAt), revoked_grants = \(row.revokedGrants), domain_allow_list = \(row.domainAllowList),
                    organization_id = \(row.organizationID)
                WHERE id = \(row.id)
                RETURNING id
                """,
                logger: logger
            )
            return try await rows.collect().count
        }
        guard updated == 1 else { throw PolicyStoreError.notFound(policy.id) }
    }

    public func delete(id: String) async throws -> Bool {
        try await self.run { client, logger in
            try await client.query("DELETE FROM sandboxes WHERE id = \(id) RETURNING id", logger: logger).collect().count == 1
        }
    }

    public func changes(after sequence: Int64) async throws -> PolicyChanges {
        try await self.run { client, logger in
            // One statement, one snapshot: the newest sequence and the ids agree (see the SQLite store).
            var latest: Int64 = 0
            var oldest: Int64 = 0
            var changed: [(seq: Int64, id: String)] = []
            for try await (id, seq, first) in try await client.execute(SelectChanges(after: sequence), logger: logger) {
                if let id {
                    changed.append((seq, id))
                } else {
                    latest = seq
                    oldest = first ?? 0
                }
            }
            changed.sort { $0.seq < $1.seq }
            var seen = Set<String>()
            let ids = changed.compactMap { seen.insert($0.id).inserted ? $0.id : nil }
            let pruned = sequence < latest && (oldest == 0 || oldest > sequence + 1)
            return PolicyChanges(latest: latest, ids: ids, isComplete: !pruned && sequence <= latest)
        }
    }

    public func waitForChanges(after sequence: Int64, timeout: Duration) async {
        await signal.wait(after: sequence, timeout: timeout)
    }

    public func publish(_ reports: [EgressReport]) async throws {
        guard !reports.isEmpty else { return }
        let batch = "[" + (try reports.map(EgressReportJSON.encode)).joined(separator: ",") + "]"
        _ = try await self.run { client, logger in
            try await client.query(
                """
                INSERT INTO egress_reports (sandbox_id, reported_at, report)
                SELECT r ->> 'sandboxId', (r ->> 'reportedAt')::bigint, r::text
                FROM json_array_elements(\(batch)::json) AS r
                WHERE (r ->> 'sandboxId') IN (SELECT id FROM sandboxes)
                ON CONFLICT (sandbox_id) DO UPDATE SET reported_at = excluded.reported_at, report = excluded.report
                """,
                logger: logger
            )
        }
    }

    public func egressReport(sandboxID: String) async throws -> EgressReport? {
        let text = try await self.run { client, logger -> String? in
            var report: String?
            for try await (text) in try await client.query(
                "SELECT report FROM egress_reports WHERE sandbox_id = \(sandboxID)", logger: logger
            ).decode(String.self) {
                report = text
            }
            return report
        }
        return try text.map { try EgressReportJSON.decode($0, sandboxID: sandboxID, location: url.description) }
    }

    /// The secret called `name` that every instance shares: the one stored, or `candidate` if there
    /// was none (the first instance to ask stores its own; the others read it).
    public func sharedSecret(named name: String, candidate: String) async throws -> String {
        try await self.run { client, logger in
            try await client.query(
                "INSERT INTO porthole_secrets (name, value) VALUES (\(name), \(candidate)) ON CONFLICT (name) DO NOTHING",
                logger: logger
            )
            var value: String?
            for try await (found) in try await client.query("SELECT value FROM porthole_secrets WHERE name = \(name)", logger: logger)
                .decode(String.self)
            {
                value = found
            }
            guard let value else { throw PolicyStoreError.corrupt("the shared secret \(name) vanished while it was read") }
            return value
        }
    }

    /// Replaces the shared secret `name` (`porthole store migrate` carries the data directory's).
    public func setSharedSecret(named name: String, to value: String) async throws {
        _ = try await self.run { client, logger in
            try await client.query(
                """
                INSERT INTO porthole_secrets (name, value) VALUES (\(name), \(value))
                ON CONFLICT (name) DO UPDATE SET value = excluded.value
                """,
                logger: logger
            )
        }
    }

    /// Writable: reachable, and not a read-only standby.
    public func checkAvailable() async throws {
        let standby = try await self.run { client, logger in
            var standby = false
            for try await (value) in try await client.query("SELECT pg_is_in_recovery()", logger: logger).decode(Bool.self) {
                standby = value
            }
            return standby
        }
        if standby {
            throw PolicyStoreError.unavailable("PostgreSQL at \(url) is a read-only standby; point the store URL at the primary")
        }
    }

    public func close() async throws {
        let first = closed.withLockedValue { closed -> Bool in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        let running = tasks.withLockedValue { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    // MARK: - Running statements

    /// Runs `body` against the pool within the operation timeout, mapping failures to
    /// ``PolicyStoreError``.
    private func run<Result: Sendable>(
        timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresClient, Logger) async throws -> Result
    ) async throws -> Result {
        guard !closed.withLockedValue({ $0 }) else { throw PolicyStoreError.unavailable("the store at \(url) is closed") }
        let client = self.client
        let logger = Self.quiet(self.logger)
        let timeout = timeout ?? configuration.operationTimeout
        do {
            return try await Self.withDeadline(timeout) {
                try await body(client, logger)
            } onTimeout: {
                PolicyStoreError.unavailable("PostgreSQL at \(self.url) did not answer within \(timeout)")
            }
        } catch {
            throw Self.storeError(error, url: url)
        }
    }

    /// `body`'s result, or `onTimeout()` thrown once `timeout` has passed, whether or not `body`
    /// notices that it was cancelled: a task group would wait for a child that does not, and an
    /// operation stuck in the pool must not hang the proxy's cache miss or the admin API.
    static func withDeadline<Result: Sendable>(
        _ timeout: Duration,
        _ body: @escaping @Sendable () async throws -> Result,
        onTimeout: @escaping @Sendable () -> any Error
    ) async throws -> Result {
        let waiting = NIOLockedValueBox<CheckedContinuation<Result, any Error>?>(nil)
        let work = NIOLockedValueBox<Task<Void, Never>?>(nil)
        @Sendable func finish(_ outcome: Swift.Result<Result, any Error>) -> Bool {
            guard
                let continuation = waiting.withLockedValue({ waiting in
                    defer { waiting = nil }
                    return waiting
                })
            else { return false }
            continuation.resume(with: outcome)
            return true
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiting.withLockedValue { $0 = continuation }
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled, finish(.failure(onTimeout())) {
                        work.withLockedValue { $0 }?.cancel()
                    }
                }
                work.withLockedValue {
                    $0 = Task {
                        let outcome: Swift.Result<Result, any Error>
                        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
                        if finish(outcome) { timer.cancel() }
                    }
                }
            }
        } onCancel: {
            work.withLockedValue { $0 }?.cancel()
            _ = finish(.failure(CancellationError()))
        }
    }

    /// What a failure says, without the query or its values.
    static func storeError(_ error: any Error, url: PostgresStoreURL) -> any Error {
        switch error {
        case let error as PolicyStoreError:
            return error
        case let error as PostgresTransactionError:
            // The first thing that went wrong: BEGIN, the work itself, or COMMIT.
            guard let cause = error.beginError ?? error.closureError ?? error.commitError else {
                return PolicyStoreError.unavailable("PostgreSQL at \(url): a transaction failed")
            }
            return storeError(cause, url: url)
        case let error as PSQLError:
            if error.code == .server, let info = error.serverInfo {
                let state = info[.sqlState] ?? "?"
                let message = info[.message] ?? "an error"
                return PolicyStoreError.unavailable("PostgreSQL at \(url) answered \(message) (SQLSTATE \(state))")
            }
            let underlying = error.underlying.map { ": \($0)" } ?? ""
            return PolicyStoreError.unavailable("PostgreSQL at \(url) cannot be used (\(error.code)\(underlying))")
        case let error as PostgresDecodingError:
            return PolicyStoreError.corrupt("a row in PostgreSQL at \(url) does not decode: column \(error.columnName) (\(error.code))")
        case is CancellationError:
            return error
        default:
            return PolicyStoreError.unavailable("PostgreSQL at \(url): \(error)")
        }
    }

    /// postgres-nio logs each query with its values at debug level: never below info here, so a
    /// preview token cannot reach a log through it.
    private static func quiet(_ logger: Logger) -> Logger {
        var logger = logger
        if logger.logLevel < .info { logger.logLevel = .info }
        return logger
    }

    private static func clientConfiguration(_ url: PostgresStoreURL, _ configuration: Configuration) throws -> PostgresClient.Configuration {
        var result: PostgresClient.Configuration
        switch url.endpoint {
        case .tcp(let host, let port):
            result = .init(host: host, port: port, username: url.username, password: url.password, database: url.database, tls: try tls(url))
        case .unixSocket(let path):
            result = .init(unixSocketPath: path, username: url.username, password: url.password, database: url.database)
        }
        result.options.maximumConnections = max(2, configuration.maximumConnections)
        result.options.connectTimeout = configuration.operationTimeout
        return result
    }

    /// The TLS settings `sslmode` asks for; `nil` for none.
    private static func tlsConfiguration(_ url: PostgresStoreURL) -> TLSConfiguration? {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let path = url.rootCertificatePath {
            tls.trustRoots = .file(path)
        }
        switch url.tlsMode {
        case .disable: return nil
        case .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        return tls
    }

    private static func tls(_ url: PostgresStoreURL) throws -> PostgresClient.Configuration.TLS {
        guard let tls = tlsConfiguration(url) else { return .disable }
        return url.tlsMode == .prefer ? .prefer(tls) : .require(tls)
    }

    /// One connection made and closed before the pool starts: a wrong password, host, database or
    /// certificate fails the start at once with what went wrong, instead of a pool retrying in
    /// the background until the migration's timeout.
    private static func probe(_ url: PostgresStoreURL, _ configuration: Configuration, group: any EventLoopGroup, logger: Logger) async throws {
        let settings = try connectionConfiguration(url, configuration)
        let opened = try await PostgresConnection.connect(on: group.any(), configuration: settings, id: 0, logger: logger).get()
        try await opened.close()
    }

    /// One connection of its own, outside the pool (the probe, and the LISTEN connection).
    private static func connectionConfiguration(_ url: PostgresStoreURL, _ configuration: Configuration) throws -> PostgresConnection.Configuration {
        var connection: PostgresConnection.Configuration
        switch url.endpoint {
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS
            if let settings = tlsConfiguration(url) {
                let context = try NIOSSLContext(configuration: settings)
                tls = url.tlsMode == .prefer ? .prefer(context) : .require(context)
            } else {
                tls = .disable
            }
            connection = .init(host: host, port: port, username: url.username, password: url.password, database: url.database, tls: tls)
        case .unixSocket(let path):
            connection = .init(unixSocketPath: path, username: url.username, password: url.password, database: url.database)
        }
        connection.options.connectTimeout = TimeAmount(configuration.operationTimeout)
        return connection
    }

    // MARK: - LISTEN

    /// Holds one connection LISTENing on the change channel until the store closes, reconnecting
    /// with backoff. Each (re)subscription wakes every reader: whatever was written while nobody
    /// listened is then read from the feed. A connection of its own, outside the pool: a
    /// long-lived lease that the server may end at any moment is no business of the pool's.
    private func listen() async {
        var backoff = Duration.milliseconds(100)
        var failing = false
        var number = 0
        while !Task.isCancelled {
            do {
                number += 1
                let settings = try Self.connectionConfiguration(url, configuration)
                let connection = try await PostgresConnection.connect(
                    on: group.any(), configuration: settings, id: number, logger: Self.quiet(logger)
                ).get()
                do {
                    try await connection.listen(on: Self.channel) { notifications in
                        if failing {
                            self.logger.info("listening for policy changes again", metadata: ["store": "\(self.url)"])
                        }
                        failing = false
                        backoff = .milliseconds(100)
                        self.signal.announceUnknown()
                        for try await notification in notifications {
                            if let sequence = Int64(notification.payload) {
                                self.signal.announce(sequence)
                            } else {
                                self.signal.announceUnknown()
                            }
                        }
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { return }
                if !failing {
                    failing = true
                    logger.warning(
                        "lost the policy change notifications; polling until they are back",
                        metadata: ["store": "\(url)", "error": "\(Self.storeError(error, url: url))"]
                    )
                }
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
    }
}

// MARK: - Statements

extension PostgresPolicyStore {
    static let columnList =
        "id, target, is_public, preview_token, token_generation, network_block_all, network_allow_list, tier, labels, host_rewrite, state, created_at, updated_at, revoked_grants, domain_allow_list, organization_id"

    static func decodeRow(_ row: PostgresRow) throws -> PolicyRow {
        let (
            id, target, isPublic, token, generation, blockAll, allowList, tier, labels, hostRewrite, state, createdAt, updatedAt, revoked, domains, organization
        ) =
            try row.decode((String, String, Bool, String, Int64, Bool, String?, Int64, String, Bool, String, Int64, Int64, String, String?, String?).self)
        return PolicyRow(
            id: id, target: target, isPublic: isPublic, previewToken: token, tokenGeneration: generation, networkBlockAll: blockAll,
            networkAllowList: allowList, tier: tier, labels: labels, hostRewrite: hostRewrite, state: state, createdAt: createdAt,
            updatedAt: updatedAt, revokedGrants: revoked, domainAllowList: domains, organizationID: organization
        )
    }

    /// The proxy's cache miss: prepared once per connection.
    struct SelectPolicy: PostgresPreparedStatement {
        static let sql = "SELECT \(PostgresPolicyStore.columnList) FROM sandboxes WHERE id = $1"
        typealias Row = PolicyRow

        var id: String

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(id)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> PolicyRow {
            try PostgresPolicyStore.decodeRow(row)
        }
    }

    /// The change feed, read by every instance at every notification and poll: prepared. The
    /// first row (id NULL) carries the newest and the oldest retained sequence numbers.
    struct SelectChanges: PostgresPreparedStatement {
        static let sql = """
            SELECT NULL::text AS sandbox_id, (SELECT seq FROM change_sequence) AS seq,
                   (SELECT coalesce(min(seq), 0) FROM changes) AS oldest
            UNION ALL
            SELECT sandbox_id, seq, NULL FROM changes WHERE seq > $1
            """
        typealias Row = (String?, Int64, Int64?)

        var after: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(after)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Row.self)
        }
    }
}

// MARK: - Schema

extension PostgresPolicyStore {
    /// Held by the migrating transaction: instances starting together migrate one after another.
    static let migrationLock: Int64 = 0x706F_7274_686F_6C65  // "porthole"

    private func migrate() async throws {
        let supported = Self.schemaVersion
        let url = self.url
        let logger = self.logger
        // Longer than one operation: the first connection, and other instances migrating first.
        try await self.run(timeout: max(configuration.operationTimeout, .seconds(60))) { client, queryLogger in
            try await client.withTransaction(logger: queryLogger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: queryLogger)
                try await connection.query("CREATE TABLE IF NOT EXISTS porthole_schema (version integer NOT NULL)", logger: queryLogger)
                var version = 0
                for try await (found) in try await connection.query("SELECT max(version) FROM porthole_schema", logger: queryLogger)
                    .decode(Int?.self)
                {
                    version = found ?? 0
                }
                guard version <= supported else {
                    throw PolicyStoreError.unsupportedSchema(found: version, supported: supported, location: url.description)
                }
                guard version < supported else { return }
                for statements in Self.migrations[version...] {
                    for statement in statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: queryLogger)
                    }
                }
                try await connection.query("DELETE FROM porthole_schema", logger: queryLogger)
                try await connection.query("INSERT INTO porthole_schema (version) VALUES (\(supported))", logger: queryLogger)
                logger.info(
                    version == 0 ? "created policy database schema" : "migrated policy database schema",
                    metadata: ["store": "\(url)", "from": "\(version)", "version": "\(supported)"]
                )
            }
        }
    }

    /// Each version's statements, run once, in order. A shipped statement is never edited.
    static let migrations: [[String]] = [schemaV1, schemaV2]

    /// Version 1: the records, the change feed with its trigger and notifications, egress reports.
    static let schemaV1: [String] = [
        """
        CREATE TABLE sandboxes (
            id text COLLATE "C" PRIMARY KEY,
            target text NOT NULL,
            is_public boolean NOT NULL,
            preview_token text NOT NULL,
            token_generation bigint NOT NULL,
            network_block_all boolean NOT NULL,
            network_allow_list text,
            tier bigint NOT NULL,
            labels text NOT NULL,
            host_rewrite boolean NOT NULL,
            state text NOT NULL,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL,
            revoked_grants text NOT NULL DEFAULT '{}',
            domain_allow_list text
        )
        """,
        // One row whose lock orders writers: the next number is taken under it and released at
        // commit, so numbers commit in order (a sequence object would not guarantee that).
        "CREATE TABLE change_sequence (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), seq bigint NOT NULL)",
        "INSERT INTO change_sequence (seq) VALUES (0)",
        "CREATE TABLE changes (seq bigint PRIMARY KEY, sandbox_id text NOT NULL)",
        """
        CREATE FUNCTION porthole_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            next_seq bigint;
        BEGIN
            IF TG_OP = 'UPDATE' AND OLD.id IS DISTINCT FROM NEW.id THEN
                UPDATE change_sequence SET seq = seq + 1 RETURNING seq INTO next_seq;
                INSERT INTO changes (seq, sandbox_id) VALUES (next_seq, OLD.id);
            END IF;
            UPDATE change_sequence SET seq = seq + 1 RETURNING seq INTO next_seq;
            IF TG_OP = 'DELETE' THEN
                INSERT INTO changes (seq, sandbox_id) VALUES (next_seq, OLD.id);
            ELSE
                INSERT INTO changes (seq, sandbox_id) VALUES (next_seq, NEW.id);
            END IF;
            DELETE FROM changes WHERE seq <= next_seq - \(changeFeedRetention);
            PERFORM pg_notify('\(channel)', next_seq::text);
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER sandboxes_changed AFTER INSERT OR UPDATE OR DELETE ON sandboxes
        FOR EACH ROW EXECUTE FUNCTION porthole_record_change()
        """,
        """
        CREATE TABLE egress_reports (
            sandbox_id text PRIMARY KEY REFERENCES sandboxes (id) ON DELETE CASCADE,
            reported_at bigint NOT NULL,
            report text NOT NULL
        )
        """,
        // Secrets every instance must share (the key that signs session cookies and preview URLs),
        // as hex: the store is the one thing all instances already share.
        "CREATE TABLE porthole_secrets (name text PRIMARY KEY, value text NOT NULL)",
    ]

    /// Version 2: organisations and their API keys, and each sandbox's organisation (`NULL`, every
    /// existing row: none). Organisations are never deleted; not on the change feed (the proxies
    /// never read them).
    static let schemaV2: [String] = [
        "ALTER TABLE sandboxes ADD COLUMN organization_id text",
        "CREATE INDEX sandboxes_by_organization ON sandboxes (organization_id, id)",
        """
        CREATE TABLE organizations (
            id text COLLATE "C" PRIMARY KEY,
            tier bigint NOT NULL,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL,
            network_allow_list text,
            domain_allow_list text
        )
        """,
        """
        CREATE TABLE api_keys (
            id text COLLATE "C" PRIMARY KEY,
            organization_id text NOT NULL,
            name text NOT NULL,
            secret_hash text NOT NULL,
            created_at bigint NOT NULL,
            revoked_at bigint
        )
        """,
        "CREATE INDEX api_keys_by_organization ON api_keys (organization_id, id)",
    ]
}

// MARK: - Organisations and API keys

extension PostgresPolicyStore: OrganizationStore {
    static let organizationColumns = "id, tier, created_at, updated_at, network_allow_list, domain_allow_list"

    public func organization(id: String) async throws -> Organization? {
        try await self.selectOrganizations("SELECT \(unescaped: Self.organizationColumns) FROM organizations WHERE id = \(id)").first
    }

    public func organizations() async throws -> [Organization] {
        try await self.selectOrganizations("SELECT \(unescaped: Self.organizationColumns) FROM organizations ORDER BY id")
    }

    public func createOrganization(_ organization: Organization) async throws -> Bool {
        let tier = Int64(organization.tier)
        return try await self.run { client, logger in
            try await client.query(
                """
                INSERT INTO organizations (id, tier, created_at, updated_at, network_allow_list, domain_allow_list)
                VALUES (\(organization.id), \(tier), \(organization.createdAt), \(organization.updatedAt),
                        \(organization.networkAllowList), \(organization.domainAllowList))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """,
                logger: logger
            ).collect().count == 1
        }
    }

    public func updateOrganization(_ organization: Organization) async throws -> Bool {
        let tier = Int64(organization.tier)
        return try await self.run { client, logger in
            try await client.query(
                """
                UPDATE organizations SET tier = \(tier), updated_at = \(organization.updatedAt),
                    network_allow_list = \(organization.networkAllowList), domain_allow_list = \(organization.domainAllowList)
                WHERE id = \(organization.id) RETURNING id
                """,
                logger: logger
            ).collect().count == 1
        }
    }

    public func createAPIKey(_ stored: StoredAPIKey) async throws -> Bool {
        let key = stored.key
        return try await self.run { client, logger in
            try await client.query(
                """
                INSERT INTO api_keys (id, organization_id, name, secret_hash, created_at, revoked_at)
                VALUES (\(key.id), \(key.organizationId), \(key.name), \(stored.secretHash), \(key.createdAt), NULL)
                ON CONFLICT (id) DO NOTHING RETURNING id
                """,
                logger: logger
            ).collect().count == 1
        }
    }

    public func apiKey(id: String) async throws -> StoredAPIKey? {
        try await self.selectAPIKeys("SELECT id, organization_id, name, secret_hash, created_at, revoked_at FROM api_keys WHERE id = \(id)").first
    }

    public func apiKeys(organizationID: String) async throws -> [StoredAPIKey] {
        try await self.selectAPIKeys(
            "SELECT id, organization_id, name, secret_hash, created_at, revoked_at FROM api_keys WHERE organization_id = \(organizationID) ORDER BY id"
        )
    }

    public func revokeAPIKey(id: String, at time: Int64) async throws -> Bool {
        try await self.run { client, logger in
            try await client.query(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, \(time)) WHERE id = \(id) RETURNING id", logger: logger
            ).collect().count == 1
        }
    }

    private func selectOrganizations(_ query: PostgresQuery) async throws -> [Organization] {
        try await self.run { client, logger in
            var found: [Organization] = []
            for try await (id, tier, createdAt, updatedAt, networks, domains) in try await client.query(query, logger: logger)
                .decode((String, Int64, Int64, Int64, String?, String?).self)
            {
                found.append(
                    Organization(
                        id: id, tier: Int(tier), networkAllowList: networks, domainAllowList: domains, createdAt: createdAt, updatedAt: updatedAt
                    )
                )
            }
            return found
        }
    }

    private func selectAPIKeys(_ query: PostgresQuery) async throws -> [StoredAPIKey] {
        try await self.run { client, logger in
            var found: [StoredAPIKey] = []
            for try await (id, organizationID, name, hash, createdAt, revokedAt) in try await client.query(query, logger: logger)
                .decode((String, String, String, String, Int64, Int64?).self)
            {
                found.append(
                    StoredAPIKey(
                        key: APIKey(id: id, organizationId: organizationID, name: name, createdAt: createdAt, revokedAt: revokedAt),
                        secretHash: hash
                    )
                )
            }
            return found
        }
    }
}
