public import NIOCore

extension PolicyCache {
    public struct Configuration: Sendable {
        /// How long a loaded policy is answered from memory before it is read again. Writes
        /// invalidate at once (locally, and through the change feed for other processes), so this
        /// is only the backstop for a missed invalidation.
        public var positiveTTL: TimeAmount
        /// How long "no such sandbox" is answered from memory.
        public var negativeTTL: TimeAmount
        /// While the store fails, how long an expired policy keeps being served before the store
        /// is tried again for it.
        public var staleRetryInterval: TimeAmount
        /// How often ``PolicyCache/run()`` reads the store's change feed.
        public var changePollInterval: TimeAmount
        /// Entries per event loop before eviction (see ``PolicyCache``).
        public var maximumEntriesPerLoop: Int
        /// The clock for expiry; tests inject a manual one.
        public var now: @Sendable () -> NIODeadline

        public init(
            positiveTTL: TimeAmount = .seconds(60),
            negativeTTL: TimeAmount = .seconds(5),
            staleRetryInterval: TimeAmount = .seconds(5),
            changePollInterval: TimeAmount = .milliseconds(250),
            maximumEntriesPerLoop: Int = 100_000,
            now: @escaping @Sendable () -> NIODeadline = { .now() }
        ) {
            self.positiveTTL = positiveTTL
            self.negativeTTL = negativeTTL
            self.staleRetryInterval = staleRetryInterval
            self.changePollInterval = changePollInterval
            self.maximumEntriesPerLoop = maximumEntriesPerLoop
            self.now = now
        }
    }
}
