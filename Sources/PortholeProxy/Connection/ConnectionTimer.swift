import NIOCore

/// The one timer of a client connection, as a state machine without I/O: which wait is timed
/// (head, keep-alive, body, response) and when it ends. The handler owns the scheduled task and
/// does what the machine answers; the machine never reads a clock, so its tests need no waiting.
///
/// Lazily re-armed: arming only moves ``deadline``. A task is scheduled only when nothing is
/// scheduled or the new deadline is earlier than the scheduled one; a task that fires early
/// (the deadline moved later meanwhile) asks to be scheduled again. So a request costs a clock
/// read and a few stores, not a timer cancel and re-schedule.
struct ConnectionTimer: Sendable, Equatable {
    /// When the current wait ends; `.distantFuture` while nothing is timed.
    private(set) var deadline: NIODeadline = .distantFuture
    /// When the scheduled task fires; `nil` when none is scheduled.
    private(set) var scheduledFor: NIODeadline?

    enum ArmAction: Sendable, Equatable {
        /// The scheduled task fires no later than the new deadline: nothing to do.
        case none
        /// Cancel the scheduled task, if any, and schedule one for this deadline.
        case schedule(NIODeadline)
    }

    enum FireAction: Sendable, Equatable {
        /// Nothing was timed any more.
        case none
        /// The deadline moved later while the task waited: schedule a task for it.
        case reschedule(NIODeadline)
        /// The wait is over: time out. Nothing is timed from here until the next `arm`.
        case expired
    }

    mutating func arm(until deadline: NIODeadline) -> ArmAction {
        self.deadline = deadline
        if let scheduledFor, scheduledFor <= deadline { return .none }
        scheduledFor = deadline
        return .schedule(deadline)
    }

    /// Nothing is timed (a response is streaming, a tunnel is open). The scheduled task, if any,
    /// stays and finds nothing to do when it fires.
    mutating func disarm() {
        deadline = .distantFuture
    }

    /// The scheduled task ran at `now`.
    mutating func fired(at now: NIODeadline) -> FireAction {
        scheduledFor = nil
        guard deadline != .distantFuture else { return .none }
        guard now >= deadline else {
            scheduledFor = deadline
            return .reschedule(deadline)
        }
        deadline = .distantFuture
        return .expired
    }

    /// The connection closed and its task was cancelled.
    mutating func cancelled() {
        deadline = .distantFuture
        scheduledFor = nil
    }
}
