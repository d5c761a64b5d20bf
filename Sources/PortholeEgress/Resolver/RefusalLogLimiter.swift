/// At most one log line per sandbox address and refusal reason per interval: every refusal class
/// is in the log, and a sandbox that hammers the resolver with forbidden names (or an exfiltration
/// attempt, one name per query) cannot flood it. The lines held back are counted and reported
/// with the next one.
struct RefusalLogLimiter {
    struct Key: Hashable {
        var client: String
        var reason: String
    }

    private var entries: [Key: (loggedAt: UInt64, suppressed: Int)] = [:]
    private let interval: UInt64
    private let maximumEntries: Int

    /// `interval` in nanoseconds.
    init(interval: UInt64 = 10_000_000_000, maximumEntries: Int = 10_000) {
        self.interval = interval
        self.maximumEntries = maximumEntries
    }

    /// `nil`: hold this line back. Otherwise log it, with the number of lines held back since the
    /// last one for the same key. `now` is a monotonic time in nanoseconds.
    mutating func admit(_ key: Key, now: UInt64) -> Int? {
        if let entry = entries[key], now &- entry.loggedAt < interval {
            entries[key] = (entry.loggedAt, entry.suppressed + 1)
            return nil
        }
        let suppressed = entries[key]?.suppressed ?? 0
        if entries.count >= maximumEntries {
            entries = entries.filter { now &- $0.value.loggedAt < interval }
        }
        entries[key] = (now, 0)
        return suppressed
    }
}
