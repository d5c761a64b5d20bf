import Foundation
import NIOConcurrencyHelpers

/// Shared by the test targets that start real processes (EndToEndTests, PortholeAdminTests).
///
/// A process started by a test, with its output collected so the test can wait for a readiness
/// line instead of sleeping. Terminated (and reaped) by `stop()`; tests call it in `defer`.
public final class ChildProcess: Sendable {
    private let process: SpawnedProcess
    public let name: String

    public init(_ executable: String, _ arguments: [String], name: String? = nil, environment: [String: String]? = nil) throws {
        self.name = name ?? URL(fileURLWithPath: executable).lastPathComponent
        process = try SpawnedProcess(executable, arguments, environment: environment)
    }

    public var standardOutput: String { String(decoding: process.standardOutput.data, as: UTF8.self) }
    public var standardError: String { String(decoding: process.standardError.data, as: UTF8.self) }
    public var isRunning: Bool { process.isRunning }
    public var processIdentifier: Int32 { process.processIdentifier }
    /// The exit code (or the signal that ended it); -1 while it runs.
    public var exitCode: Int32 { process.terminationStatus ?? -1 }

    /// Waits until `condition` holds for the collected stdout and stderr, or fails after `timeout`.
    @discardableResult
    public func waitFor(
        _ description: String,
        timeout: Duration = .seconds(30),
        _ condition: (_ stdout: String, _ stderr: String) -> Bool
    ) async throws -> (stdout: String, stderr: String) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = (standardOutput, standardError)
            if condition(current.0, current.1) { return current }
            if !process.isRunning {
                drainOutput()
                throw TestFailure("\(name) exited (\(exitCode)) before \(description):\n\(standardError)\n\(standardOutput)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("timed out waiting for \(description) from \(name):\n\(standardError)\n\(standardOutput)")
    }

    /// Waits for the process to exit by itself and returns its status.
    public func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw TestFailure("\(name) did not exit within \(timeout)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return exitCode
    }

    /// After exit: waits until everything the process wrote has been collected, so no output is
    /// lost (bounded: a grandchild that keeps the pipe open cannot hang the test).
    public func drainOutput() {
        process.standardOutput.waitForEnd()
        process.standardError.waitForEnd()
    }

    public func signal(_ number: Int32) {
        process.signal(number)
    }

    /// Ends the process (SIGTERM, then SIGKILL after a grace period) and reaps it.
    public func stop() {
        process.closeInput()
        guard process.isRunning else { return }
        process.signal(SIGTERM)
        let deadline = Date().addingTimeInterval(1)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        process.signal(SIGKILL)
        process.waitUntilExit()
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Paths of the package and the programs the tests drive.
public enum TestPaths {
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The `porthole` built with the tests: beside the test runner, so `swift test -c release`,
    /// another triple or `--build-path` test the binary they built, not whatever is in
    /// `.build/debug`. `PORTHOLE_BINARY` overrides it.
    public static let portholeBinary: String = {
        if let override = ProcessInfo.processInfo.environment["PORTHOLE_BINARY"] { return override }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let beside = runner.deletingLastPathComponent().appendingPathComponent("porthole").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return packageRoot + "/.build/debug/porthole"
    }()

    public static func which(_ program: String) -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "/usr/bin/\(program)"
    }

    /// A port that was free a moment ago (for servers that cannot bind port 0 and report it: HAProxy, PostgreSQL).
    public static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0 else { throw TestFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public static func temporaryDirectory(prefix: String = "porthole-test-") throws -> String {
        let path = NSTemporaryDirectory() + prefix + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
