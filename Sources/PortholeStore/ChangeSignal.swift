import NIOConcurrencyHelpers

/// Wakes readers of a change feed as soon as a store hears of a write, instead of at their next
/// poll: PostgreSQL's NOTIFY carries the new sequence number, and every reader waiting for a
/// sequence past its cursor resumes at once.
public final class ChangeSignal: Sendable {
    private struct Waiter {
        var after: Int64
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        /// The newest sequence number announced.
        var latest: Int64 = .min
        var waiters: [Int: Waiter] = [:]
        /// Waits cancelled before they registered.
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// A write with sequence number `sequence` committed.
    public func announce(_ sequence: Int64) {
        let woken = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.latest = max(state.latest, sequence)
            let due = state.waiters.filter { $0.value.after < state.latest }
            for id in due.keys { state.waiters[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Something may have been written unannounced (the notification connection was lost and is
    /// back): every reader reads the feed now.
    public func announceUnknown() {
        let woken = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            defer { state.waiters = [:] }
            return state.waiters.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when a sequence past `sequence` is announced (at once if one was), when anything is
    /// announced as unknown, after `timeout`, or when the task is cancelled.
    public func wait(after sequence: Int64, timeout: Duration) async {
        if state.withLockedValue({ $0.latest > sequence }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForAnnouncement(after: sequence) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForAnnouncement(after sequence: Int64) async {
        let id = state.withLockedValue { state -> Int in
            state.nextID &+= 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLockedValue { state -> Bool in
                    if state.latest > sequence || state.cancelled.remove(id) != nil { return true }
                    state.waiters[id] = Waiter(after: sequence, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter.continuation }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume()
        }
    }
}
