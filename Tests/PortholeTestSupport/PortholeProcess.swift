import Foundation

/// Shared by the test targets that start the real binary (EndToEndTests, PortholeAdminTests).
///
/// A real `porthole serve` on 127.0.0.1 with every listener (HTTPS, plain HTTP, admin) on an
/// ephemeral port, its own data and certificate directories, and the development certificate it
/// generates on first start. The ports are read from its log, so `start` returns once it is ready.
/// A handle: copies share the one process.
public struct PortholeProcess: Sendable {
    public let directory: String
    public let process: ChildProcess
    public let httpsPort: Int
    /// The plain-HTTP listener: proxy mode unless the arguments ask otherwise.
    public let httpPort: Int
    /// The admin listener (`/metrics`, `/readyz`, the API).
    public let adminPort: Int
    /// Who the server runs as; `runAsServer` runs other commands the same way.
    public let privileges: ServerPrivileges

    public var dataDirectory: String { Self.dataDirectory(in: directory) }
    public var certificateDirectory: String { directory + "/certs" }
    public var caFile: String { certificateDirectory + "/dev-ca.pem" }

    /// Starts a server in a fresh directory, or with `directory` in an existing one (sandboxes
    /// created beforehand, or a restart). `arguments` are added to (and may override) the defaults.
    /// The server runs as `deploy/` runs it: unprivileged, without capabilities (`privileges`).
    public static func start(
        directory: String? = nil,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        privileges: ServerPrivileges = .unprivileged
    ) async throws -> PortholeProcess {
        let directory = try directory ?? TestPaths.temporaryDirectory()
        var serveArguments = [
            "serve", "--bind-address", "127.0.0.1", "--https-port", "0", "--http-port", "0", "--admin-port", "0",
            "--data-dir", dataDirectory(in: directory), "--cert-dir", directory + "/certs", "--threads", "2",
        ]
        if !arguments.contains("--http-mode") { serveArguments += ["--http-mode", "proxy"] }
        serveArguments += arguments
        let (executable, commandArguments) = try privileges.command(
            binary: TestPaths.portholeBinary, arguments: serveArguments, directory: directory
        )
        let process = try ChildProcess(executable, commandArguments, name: "porthole serve", environment: environment)
        do {
            let (_, stderr) = try await process.waitFor("porthole is ready") { _, stderr in stderr.contains("porthole is ready") }
            guard let https = port(in: stderr, mode: "mode=https"),
                let http = port(in: stderr, mode: "mode=plainProxy") ?? port(in: stderr, mode: "mode=redirect"),
                let admin = port(in: stderr, mode: "mode=admin")
            else { throw TestFailure("no listening lines in:\n\(stderr)") }
            return PortholeProcess(
                directory: directory, process: process, httpsPort: https, httpPort: http, adminPort: admin, privileges: privileges
            )
        } catch {
            process.stop()
            throw error
        }
    }

    private static func dataDirectory(in directory: String) -> String { directory + "/data" }

    /// The port of the `listening` log line for `mode`.
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

    /// `porthole <arguments>` as the server's own user, as an operator would run a command that
    /// writes files the server reads (`sudo -u porthole porthole certs dev`).
    public func runAsServer(_ arguments: [String]) async throws -> CommandResult {
        let (executable, commandArguments) = try privileges.command(
            binary: TestPaths.portholeBinary, arguments: arguments, directory: directory
        )
        return try await CommandResult.run(executable, commandArguments)
    }

    /// Stops the process; `keepData` leaves the directory for a restart.
    public func stop(keepData: Bool = false) {
        process.stop()
        if !keepData { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// `porthole sandbox <arguments> --data-dir <data>`: the CLI finds this server through the data directory.
    public func cli(_ arguments: [String], command: String = "sandbox", environment: [String: String]? = nil) async throws -> CommandResult {
        try await Self.cli(arguments, directory: directory, command: command, environment: environment)
    }

    /// `porthole <command> <arguments>` (`sandbox`, `org`, `api-key`) on the data directory in
    /// `directory`, with or without a server running.
    public static func cli(_ arguments: [String], directory: String, command: String = "sandbox", environment: [String: String]? = nil)
        async throws -> CommandResult
    {
        try await CommandResult.run(
            TestPaths.portholeBinary, [command] + arguments + ["--data-dir", dataDirectory(in: directory)], environment: environment
        )
    }
}
