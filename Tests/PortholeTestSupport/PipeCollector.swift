public import Foundation
import NIOConcurrencyHelpers

/// Collects what a child process writes to a pipe, on a thread of its own doing blocking reads
/// until end of file. Not `readabilityHandler`: tearing down its dispatch source races the
/// process's exit on Linux and has crashed the test runner in `_dispatch_event_loop_drain`
/// (swift-corelibs-foundation #5507), and it can miss end of file.
public final class PipeCollector: Sendable {
    private struct State {
        var data = Data()
        var finished = false
    }

    private let state = NIOLockedValueBox(State())
    /// Signalled once at end of file (and again by each waiter that saw it, for the next one).
    private let ended = DispatchSemaphore(value: 0)

    public init(_ handle: FileHandle) {
        let state = self.state
        let ended = self.ended
        let thread = Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                state.withLockedValue { $0.data.append(data) }
            }
            state.withLockedValue { $0.finished = true }
            ended.signal()
        }
        thread.start()
    }

    /// Whether end of file has come.
    public var isFinished: Bool { state.withLockedValue { $0.finished } }

    /// What arrived so far.
    public var data: Data { state.withLockedValue { $0.data } }

    /// Waits (up to `timeout`) for end of file: every writer has closed the pipe. True when it came.
    @discardableResult
    public func waitForEnd(timeout: TimeInterval = 5) -> Bool {
        guard ended.wait(timeout: .now() + timeout) == .success else { return false }
        ended.signal()
        return true
    }
}
