import PortholeTestSupport
import Foundation

/// A real `porthole serve` on 127.0.0.1 with ephemeral ports, its own data and certificate
/// directories, and the development certificate it generates on first start.
final class PortholeInstance: Sendable {
    let directory: String
    let process: ChildProcess
    let httpsPort: Int
    /// The plain-HTTP listener (proxy mode unless the test asked otherwise).
    let httpPort: Int
    /// The admin listener (`/metrics`, `/readyz`, the API).
    let adminPort: Int

    var dataDirectory: String { directory + "/data" }
    var certificateDirectory: String { directory + "/certs" }
    var caFile: String { certificateDirectory + "/dev-ca.pem" }

    /// Starts the server. `prepare` runs CLI commands (sandbox create …) before it starts.
    static func start(
        arguments: [String] = [],
        prepare: (String) async throws -> Void = { _ in }
    ) async throws -> PortholeInstance {
        let directory = try TestPaths.temporaryDirectory()
        try await prepare(directory)
        var serveArguments = [
            "serve", "--bind-address", "127.0.0.1", "--https-port", "0", "--http-port", "0",
            "--data-dir", directory + "/data", "--cert-dir", directory + "/certs", "--threads", "2", "--admin-port", "0",
        ]
        if !arguments.contains("--http-mode") { serveArguments += ["--http-mode", "proxy"] }
        serveArguments += arguments
        let process = try ChildProcess(TestPaths.portholeBinary, serveArguments, name: "porthole serve")
        do {
            let (_, stderr) = try await process.waitFor("porthole is ready") { _, stderr in stderr.contains("porthole is ready") }
            return PortholeInstance(
                directory: directory,
                process: process,
                httpsPort: Self.port(in: stderr, mode: "mode=https") ?? 0,
                httpPort: Self.port(in: stderr, mode: "mode=plainProxy") ?? Self.port(in: stderr, mode: "mode=redirect") ?? 0,
                adminPort: Self.port(in: stderr, mode: "mode=admin") ?? 0
            )
        } catch {
            process.stop()
            throw error
        }
    }

    private init(directory: String, process: ChildProcess, httpsPort: Int, httpPort: Int, adminPort: Int) {
        self.directory = directory
        self.process = process
        self.httpsPort = httpsPort
        self.httpPort = httpPort
        self.adminPort = adminPort
    }

    private static func port(in log: String, mode: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("listening") && line.contains(mode) {
            guard let range = line.range(of: "address=") else { continue }
            let address = line[range.upperBound...].prefix { $0 != " " }
            if let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) {
                return port
            }
        }
        return nil
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `porthole <arguments> --data-dir <this data dir>` and returns its exit status and output.
    func cli(_ arguments: [String]) async throws -> CommandResult {
        try await Self.cli(arguments, directory: directory)
    }

    static func cli(_ arguments: [String], directory: String) async throws -> CommandResult {
        try await CommandResult.run(TestPaths.portholeBinary, arguments + ["--data-dir", directory + "/data"])
    }

    /// Creates a sandbox through the CLI and returns its preview token.
    @discardableResult
    static func createSandbox(_ id: String, target: String = "127.0.0.1", flags: [String] = [], directory: String) async throws -> String {
        let result = try await cli(["sandbox", "create", "--id", id, "--target", target, "--json"] + flags, directory: directory)
        guard result.status == 0 else { throw TestFailure("sandbox create failed: \(result.stderr)") }
        return try result.json()["previewToken"] as? String ?? ""
    }

    func host(port: Int, sandbox: String) -> String { "\(port)-\(sandbox).preview.localhost" }
}

/// Exit status and output of a finished command.
struct CommandResult: Sendable {
    var status: Int32
    var stdout: Data
    var stderr: String

    var text: String { String(decoding: stdout, as: UTF8.self) }

    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: stdout) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(text)")
        }
        return object
    }

    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CommandResult {
        let process = try ChildProcess(executable, arguments)
        defer { process.stop() }
        let status = try await process.waitForExit(timeout: timeout)
        process.drainOutput()
        return CommandResult(status: status, stdout: Data(process.standardOutput.utf8), stderr: process.standardError)
    }
}
