import NIOCore
@testable import PortholeProxy
import Testing

/// The connection's timer as a state machine: deadlines are plain values, so every case runs
/// without a clock or a wait.
@Suite struct ConnectionTimerTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func firstArmSchedules() {
        var timer = ConnectionTimer()
        #expect(timer.arm(until: Self.t0 + .seconds(5)) == .schedule(Self.t0 + .seconds(5)))
        #expect(timer.scheduledFor == Self.t0 + .seconds(5))
    }

    @Test func laterDeadlineOnlyMovesTheDeadline() {
        var timer = ConnectionTimer()
        _ = timer.arm(until: Self.t0 + .seconds(5))
        #expect(timer.arm(until: Self.t0 + .seconds(60)) == .none)
        #expect(timer.deadline == Self.t0 + .seconds(60))
        #expect(timer.scheduledFor == Self.t0 + .seconds(5))
        // The early task fires, finds the deadline moved, and asks for a task at the new one.
        #expect(timer.fired(at: Self.t0 + .seconds(5)) == .reschedule(Self.t0 + .seconds(60)))
        #expect(timer.scheduledFor == Self.t0 + .seconds(60))
        #expect(timer.fired(at: Self.t0 + .seconds(60)) == .expired)
    }

    @Test func earlierDeadlineReschedules() {
        var timer = ConnectionTimer()
        _ = timer.arm(until: Self.t0 + .seconds(60))
        #expect(timer.arm(until: Self.t0 + .seconds(10)) == .schedule(Self.t0 + .seconds(10)))
        #expect(timer.fired(at: Self.t0 + .seconds(10)) == .expired)
    }

    @Test func equalDeadlineKeepsTheTask() {
        var timer = ConnectionTimer()
        _ = timer.arm(until: Self.t0)
        #expect(timer.arm(until: Self.t0) == .none)
    }

    @Test func disarmedTimerFiresIntoNothing() {
        var timer = ConnectionTimer()
        _ = timer.arm(until: Self.t0)
        timer.disarm()
        #expect(timer.fired(at: Self.t0) == .none)
        #expect(timer.scheduledFor == nil)
        // Armed again after it fired: a new task.
        #expect(timer.arm(until: Self.t0 + .seconds(1)) == .schedule(Self.t0 + .seconds(1)))
    }

    @Test func expiryIsReportedOnce() {
        var timer = ConnectionTimer()
        _ = timer.arm(until: Self.t0)
        #expect(timer.fired(at: Self.t0 + .seconds(1)) == .expired)
        #expect(timer.deadline == .distantFuture)
        #expect(timer.fired(at: Self.t0 + .seconds(2)) == .none)
    }

    @Test func cancelledTimerSchedulesAfresh() {
        var timer = ConnectionTimer()
        _ = timer.arm(until: Self.t0)
        timer.cancelled()
        #expect(timer.deadline == .distantFuture && timer.scheduledFor == nil)
        #expect(timer.arm(until: Self.t0 + .seconds(9)) == .schedule(Self.t0 + .seconds(9)))
    }
}

@Suite struct RequestBodyClockTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func startsStoppedAndStartsOnProgress() {
        var clock = RequestBodyClock()
        #expect(!clock.isRunning)
        #expect(clock.progressed(100, now: Self.t0, timeout: .seconds(30), minimumRate: 1024) == Self.t0 + .seconds(30))
        #expect(clock.isRunning)
        clock.stop()
        #expect(!clock.isRunning)
    }

    @Test func bytesBuyTimeAtTheMinimumRate() {
        var clock = RequestBodyClock()
        _ = clock.start(now: Self.t0, timeout: .seconds(30))
        // 1 KiB at 1 KiB/s buys one second, from the old deadline.
        #expect(clock.progressed(1024, now: Self.t0 + .seconds(1), timeout: .seconds(30), minimumRate: 1024) == Self.t0 + .seconds(31))
    }

    @Test func neverFurtherThanOneTimeoutFromNow() {
        var clock = RequestBodyClock()
        _ = clock.start(now: Self.t0, timeout: .seconds(30))
        let deadline = clock.progressed(10_000_000, now: Self.t0 + .seconds(2), timeout: .seconds(30), minimumRate: 1024)
        #expect(deadline == Self.t0 + .seconds(32))
    }

    @Test func aZeroRateCountsAsOneBytePerSecond() {
        var clock = RequestBodyClock()
        _ = clock.start(now: Self.t0, timeout: .seconds(30))
        #expect(clock.progressed(3, now: Self.t0, timeout: .seconds(30), minimumRate: 0) == Self.t0 + .seconds(30))
        var slow = RequestBodyClock()
        _ = slow.start(now: Self.t0, timeout: .seconds(30))
        #expect(slow.progressed(2, now: Self.t0 + .seconds(20), timeout: .seconds(30), minimumRate: 0) == Self.t0 + .seconds(32))
    }
}
