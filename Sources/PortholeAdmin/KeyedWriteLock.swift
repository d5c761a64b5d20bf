/// Serialises the read-modify-write cycles of one sandbox, so two concurrent API calls on the same
/// sandbox (a revocation and a `setPublic`, say) cannot each read the old record and lose the other's
/// change. Calls on different sandboxes run concurrently. Waiters are resumed in arrival order.
actor KeyedWriteLock {
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    func withLock<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        await acquire(key)
        do {
            let result = try await body()
            release(key)
            return result
        } catch {
            release(key)
            throw error
        }
    }

    private func acquire(_ key: String) async {
        if waiters[key] == nil {
            // Free: an empty queue marks it held.
            waiters[key] = []
            return
        }
        await withCheckedContinuation { waiters[key]!.append($0) }
    }

    private func release(_ key: String) {
        guard var queue = waiters[key], !queue.isEmpty else {
            waiters[key] = nil
            return
        }
        let next = queue.removeFirst()
        waiters[key] = queue
        next.resume()
    }
}
