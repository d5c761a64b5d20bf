import NIOCore

/// The deadline by which a client must have sent more of its request body: `timeout` after the
/// clock starts, extended by what each byte buys at `minimumRate`, but never further than one
/// whole `timeout` from the latest progress. Slow-loris bodies end; slow but honest uploads do not.
struct RequestBodyClock: Sendable, Equatable {
    /// `.distantFuture` while the clock does not run: no body, the body is complete, or the client
    /// waits for `100 Continue` (until then the sandbox is the one that must answer).
    private(set) var deadline: NIODeadline = .distantFuture

    var isRunning: Bool { deadline != .distantFuture }

    mutating func start(now: NIODeadline, timeout: TimeAmount) -> NIODeadline {
        deadline = now + timeout
        return deadline
    }

    /// `bytes` more arrived at `now`; starts the clock if it was not running. Returns the new deadline.
    mutating func progressed(_ bytes: Int, now: NIODeadline, timeout: TimeAmount, minimumRate: Int) -> NIODeadline {
        guard isRunning else { return start(now: now, timeout: timeout) }
        let rate = Int64(max(minimumRate, 1))
        let earned = deadline + .nanoseconds(Int64(bytes) * 1_000_000_000 / rate)
        deadline = min(earned, now + timeout)
        return deadline
    }

    mutating func stop() {
        deadline = .distantFuture
    }
}
