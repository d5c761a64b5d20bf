public import PortholeCore

/// Where sandbox policy records live: the embedded SQLite file (``SQLitePolicyStore``) or a
/// shared database for several proxy instances.
///
/// The proxy never calls a store on its hot path; it asks ``PolicyCache``, which calls
/// ``policy(id:)`` once per miss and follows ``changes(after:)`` to invalidate what others wrote.
///
/// Errors are ``PolicyStoreError``s.
public protocol PolicyStore: OrganizationStore {
    /// The record for `id`, or `nil` if there is none.
    func policy(id: String) async throws -> SandboxPolicy?

    /// Up to `limit` records ordered by id, starting after the id `after` (keyset pagination: pass
    /// the last id of one page to get the next). With `label`, only records carrying that exact
    /// label key and value; with `organizationID`, only that organisation's.
    func list(label: (key: String, value: String)?, organizationID: String?, after: String?, limit: Int) async throws -> [SandboxPolicy]

    /// Stores a new record. Throws ``PolicyStoreError/alreadyExists(_:)`` if the id is taken.
    func create(_ policy: SandboxPolicy) async throws

    /// Replaces the record with the same id. Throws ``PolicyStoreError/notFound(_:)`` if there is none.
    /// The store writes the timestamps it is given; the caller sets `updatedAt`.
    func update(_ policy: SandboxPolicy) async throws

    /// Removes the record; `false` if there was none.
    func delete(id: String) async throws -> Bool

    /// The change feed: the ids written after `sequence`, and the newest sequence number.
    ///
    /// Every write appends to the feed atomically with the write itself, so a reader that has seen
    /// sequence `n` and then reads `changes(after: n)` misses no write. Pass the returned
    /// ``PolicyChanges/latest`` next time. If ``PolicyChanges/isComplete`` is `false` the feed no
    /// longer reaches back to `sequence` (old entries were pruned, or the store was replaced and
    /// `sequence` is in its future): treat every record as changed.
    func changes(after sequence: Int64) async throws -> PolicyChanges

    /// Returns once the change feed may hold entries after `sequence`, after `timeout` at the
    /// latest, or when the task is cancelled. A store that hears of writes (PostgreSQL's NOTIFY)
    /// returns as soon as one commits; the others wait out the timeout, and readers poll.
    func waitForChanges(after sequence: Int64, timeout: Duration) async

    /// Stores egress agents' reports (``EgressReport``), replacing each sandbox's previous one, in
    /// one transaction. A report for a sandbox that no longer exists is dropped; deleting a sandbox
    /// deletes its report. Reports are not on the change feed: they describe records, they are
    /// not records.
    func publish(_ reports: [EgressReport]) async throws

    /// The newest report an egress agent published for `sandboxID`, or `nil`.
    func egressReport(sandboxID: String) async throws -> EgressReport?

    /// Throws the ``PolicyStoreError`` a write would meet if the store cannot take writes now;
    /// readiness (`/readyz`) asks it.
    func checkAvailable() async throws

    /// Releases the store's resources. Calls made afterwards fail with ``PolicyStoreError/unavailable(_:)``.
    func close() async throws
}

extension PolicyStore {
    public func list(label: (key: String, value: String)?, after: String?, limit: Int) async throws -> [SandboxPolicy] {
        try await list(label: label, organizationID: nil, after: after, limit: limit)
    }

    public func waitForChanges(after sequence: Int64, timeout: Duration) async {
        try? await Task.sleep(for: timeout)
    }

    /// A store that answers a read is taken to take writes too.
    public func checkAvailable() async throws {
        _ = try await self.policy(id: "-")
    }
}

/// One read of a ``PolicyStore`` change feed.
public struct PolicyChanges: Sendable, Hashable {
    /// The newest sequence number in the feed; pass it to the next ``PolicyStore/changes(after:)``.
    public var latest: Int64
    /// The ids written after the requested sequence, oldest write first, each id once.
    public var ids: [String]
    /// `false` if writes after the requested sequence may be missing from ``ids``; the reader must
    /// then assume every record changed.
    public var isComplete: Bool

    public init(latest: Int64, ids: [String], isComplete: Bool = true) {
        self.latest = latest
        self.ids = ids
        self.isComplete = isComplete
    }
}
