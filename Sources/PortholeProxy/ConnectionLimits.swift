import NIOConcurrencyHelpers

/// The process-wide counts behind `--max-connections` and `--max-connections-per-sandbox`, shared
/// by every event loop so that both caps are exact whatever the number of threads (a per-loop
/// share would let one busy loop refuse while another has room).
///
/// Both are uncontended locks taken per connection (accept and close) and, only while a
/// per-sandbox cap is configured, per exchange; with the default (no cap) requests never touch them.
final class ConnectionLimits: Sendable {
    private struct Counts {
        var open = 0
        /// The most open at once since `takeOpenAndPeak()` last asked.
        var peak = 0
    }

    private let openConnections = NIOLockedValueBox(Counts())
    private let exchangesBySandbox = NIOLockedValueBox<[String: Int]>([:])

    /// Counts a new client connection unless `cap` (0: none) is already reached.
    func admitConnection(cap: Int) -> Bool {
        openConnections.withLockedValue { counts in
            guard cap == 0 || counts.open < cap else { return false }
            counts.open += 1
            counts.peak = max(counts.peak, counts.open)
            return true
        }
    }

    func connectionClosed() {
        openConnections.withLockedValue { $0.open -= 1 }
    }

    /// The connections open now and the most that were open at once since the previous call.
    func takeOpenAndPeak() -> (open: Int, peak: Int) {
        openConnections.withLockedValue { counts in
            defer { counts.peak = counts.open }
            return (counts.open, counts.peak)
        }
    }

    /// Counts one more exchange (forwarded request or open tunnel) with `sandbox`, unless it
    /// already has `cap` in flight. Check and count are one step, so two loops cannot both take
    /// the last place.
    func startExchange(with sandbox: String, cap: Int) -> Bool {
        exchangesBySandbox.withLockedValue { counts in
            let current = counts[sandbox, default: 0]
            guard current < cap else { return false }
            counts[sandbox] = current + 1
            return true
        }
    }

    func endExchange(with sandbox: String) {
        exchangesBySandbox.withLockedValue { counts in
            let remaining = counts[sandbox, default: 1] - 1
            counts[sandbox] = remaining > 0 ? remaining : nil
        }
    }
}
