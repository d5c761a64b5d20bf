import Foundation

/// Exit status and output of a finished command.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(stdout) \(stderr)")
        }
        return object
    }

    public func jsonArray() throws -> [[String: Any]] {
        guard let array = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]] else {
            throw TestFailure("not a JSON array: \(stdout) \(stderr)")
        }
        return array
    }

    /// Runs `executable` to its end (or `timeout`) and collects all of its output.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> CommandResult {
        let process = try ChildProcess(executable, arguments, environment: environment)
        defer { process.stop() }
        let status = try await process.waitForExit(timeout: timeout)
        process.drainOutput()
        return CommandResult(status: status, stdout: process.standardOutput, stderr: process.standardError)
    }
}
