import NIOConcurrencyHelpers
import PortholeAPI

/// Sandboxes deleted through the Daytona-compatible API, remembered for a while so that a read after
/// the delete answers `state: "destroyed"` (older SDKs poll for it) rather than 404 at once.
///
/// In memory, per process: behind a balancer, a read that reaches another instance gets 404, which
/// the SDKs also take as "gone". Bounded in time and count.
final class DeletedSandboxes: Sendable {
    private struct Entry {
        var record: SandboxRecord
        var deletedAt: Int64
    }

    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    private let lifetime: Int64
    private let capacity: Int

    init(lifetime: Int64 = 600, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func remember(_ record: SandboxRecord, now: Int64) {
        entries.withLockedValue { entries in
            entries = entries.filter { now - $0.value.deletedAt < lifetime }
            if entries.count >= capacity, let oldest = entries.min(by: { $0.value.deletedAt < $1.value.deletedAt }) {
                entries[oldest.key] = nil
            }
            entries[record.id] = Entry(record: record, deletedAt: now)
        }
    }

    /// The deleted record, if it was deleted less than the lifetime ago.
    func record(_ id: String, now: Int64) -> SandboxRecord? {
        entries.withLockedValue { entries in
            guard let entry = entries[id], now - entry.deletedAt < lifetime else { return nil }
            return entry.record
        }
    }

    /// A sandbox made again under the same id is no longer deleted.
    func forget(_ id: String) {
        entries.withLockedValue { $0[id] = nil }
    }
}
