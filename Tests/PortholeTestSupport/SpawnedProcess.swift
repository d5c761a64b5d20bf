public import Foundation
import NIOConcurrencyHelpers

/// A child process started with `posix_spawn`, its standard streams on pipes. Not Foundation's
/// `Process`: on Linux (Swift 6.3.1) its `run()` intermittently crashes the test runner with an
/// over-read while it lists `/proc/self/fd` (swift-corelibs-foundation #5472), and the more tests
/// run at once, the likelier it is.
///
/// The child starts with an empty signal mask and default handlers, whatever the test runner's
/// threads have blocked, so SIGTERM reaches it; it inherits no descriptor but its three streams.
public final class SpawnedProcess: Sendable {
    public let processIdentifier: pid_t
    public let standardOutput: PipeCollector
    public let standardError: PipeCollector
    private let input: NIOLockedValueBox<FileHandle?>
    /// The wait status once reaped.
    private let status = NIOLockedValueBox<Int32?>(nil)
    /// Signalled when the child has been reaped (and again by each waiter, for the next).
    private let exited = DispatchSemaphore(value: 0)

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which the Glibc module does not
    /// export to Swift.
    private static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: AddCloseFrom.self)
    }

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        var stdinPipe: [Int32] = [0, 0]
        var stdoutPipe: [Int32] = [0, 0]
        var stderrPipe: [Int32] = [0, 0]
        for made in [pipe(&stdinPipe), pipe(&stdoutPipe), pipe(&stderrPipe)] where made != 0 {
            throw TestFailure("pipe failed: errno \(errno)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        // The child gets its three streams and nothing else: not the other children's pipes, and
        // not the tests' sockets (a socket a test closes to send a reset must really close).
        if let addCloseFrom = Self.addCloseFrom {
            _ = addCloseFrom(&actions, 3)
        } else {
            var limit = rlimit()
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            for descriptor in 3..<Int32(min(limit.rlim_cur, 65_536)) { posix_spawn_file_actions_addclose(&actions, descriptor) }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var merged = ProcessInfo.processInfo.environment
        if let environment { merged.merge(environment) { $1 } }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for argument in argv { free(argument) }
            for variable in envp { free(variable) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        // The child's ends belong to the child now.
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard spawned == 0 else {
            // A child that could not exec may still have to be reaped.
            if pid > 0 { waitpid(pid, nil, 0) }
            close(stdinPipe[1])
            close(stdoutPipe[0])
            close(stderrPipe[0])
            throw TestFailure("could not start \(executable): \(String(cString: strerror(spawned)))")
        }
        processIdentifier = pid
        input = NIOLockedValueBox(FileHandle(fileDescriptor: stdinPipe[1], closeOnDealloc: true))
        standardOutput = PipeCollector(FileHandle(fileDescriptor: stdoutPipe[0], closeOnDealloc: true))
        standardError = PipeCollector(FileHandle(fileDescriptor: stderrPipe[0], closeOnDealloc: true))
        startReaper()
    }

    /// Reaps the child the moment it exits, on a thread of its own. Promptly: Swift Testing's
    /// exit-test monitor waits for *any* child without reaping it (`waitid(P_ALL, WNOWAIT)`), so
    /// a zombie of ours left for later would hide its own children from it, and hang the run.
    private func startReaper() {
        let pid = processIdentifier
        let status = self.status
        let exited = self.exited
        let thread = Thread {
            // Wait for the exit without reaping, then reap under the lock that `signal` holds
            // while it sends: a pid is only reused once reaped, so no signal can reach a stranger.
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
            status.withLockedValue { status in
                var waited: Int32 = 0
                while waitpid(pid, &waited, 0) == -1 && errno == EINTR {}
                status = waited
            }
            exited.signal()
        }
        thread.start()
    }

    /// True until the child has exited (and been reaped).
    public var isRunning: Bool {
        status.withLockedValue { $0 == nil }
    }

    /// The exit code, or the number of the signal that ended it (as Foundation's `Process` says);
    /// `nil` while it runs.
    public var terminationStatus: Int32? {
        guard let waited = status.withLockedValue({ $0 }) else { return nil }
        let signal = waited & 0x7F
        return signal == 0 ? (waited >> 8) & 0xFF : signal
    }

    /// Blocks until the child has exited and is reaped.
    public func waitUntilExit() {
        exited.wait()
        exited.signal()
    }

    /// Sends a signal if the child has not been reaped yet (so the pid is still its own).
    public func signal(_ number: Int32) {
        status.withLockedValue { status in
            if status == nil { kill(processIdentifier, number) }
        }
    }

    /// Writes to the child's standard input (blocking while the pipe is full).
    public func write(_ data: Data) {
        guard let handle = input.withLockedValue({ $0 }) else { return }
        try? handle.write(contentsOf: data)
    }

    /// Closes the child's standard input: it reads end of file.
    public func closeInput() {
        let handle = input.withLockedValue { handle in
            defer { handle = nil }
            return handle
        }
        try? handle?.close()
    }
}
