import PortholeTestSupport
import Foundation
import PortholeClient

/// A real `porthole serve` on 127.0.0.1 with ephemeral ports (the admin listener too), its own data
/// and certificate directories, and a client of its admin API.
final class PortholeServer: Sendable {
    let directory: String
    let process: ChildProcess
    let httpsPort: Int
    let httpPort: Int
    let adminPort: Int

    var dataDirectory: String { directory + "/data" }
    var adminURL: String { "http://127.0.0.1:\(adminPort)" }
    var adminToken: String {
        (try? String(contentsOfFile: dataDirectory + "/admin-token", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// Starts a server; with `directory`, on an existing one (a restart).
    static func start(directory: String? = nil, arguments: [String] = [], environment: [String: String]? = nil) async throws -> PortholeServer {
        let directory = try directory ?? TestPaths.temporaryDirectory()
        let serveArguments = [
            "serve", "--bind-address", "127.0.0.1", "--https-port", "0", "--http-port", "0", "--http-mode", "proxy",
            "--admin-port", "0", "--data-dir", directory + "/data", "--cert-dir", directory + "/certs", "--threads", "2",
        ] + arguments
        let process = try ChildProcess(TestPaths.portholeBinary, serveArguments, name: "porthole serve", environment: environment)
        do {
            let (_, stderr) = try await process.waitFor("porthole is ready") { _, stderr in stderr.contains("porthole is ready") }
            guard let https = port(in: stderr, mode: "mode=https"), let http = port(in: stderr, mode: "mode=plainProxy"),
                  let admin = port(in: stderr, mode: "mode=admin")
            else { throw TestFailure("no listening lines in:\n\(stderr)") }
            return PortholeServer(directory: directory, process: process, httpsPort: https, httpPort: http, adminPort: admin)
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

    static func port(in log: String, mode: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("listening") && line.contains(mode) {
            guard let range = line.range(of: "address=") else { continue }
            let address = line[range.upperBound...].prefix { $0 != " " }
            if let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) {
                return port
            }
        }
        return nil
    }

    func client(token: String? = nil) throws -> AdminClient {
        try AdminClient(url: adminURL, token: token ?? adminToken)
    }

    /// Stops the process; `keepData` leaves the directory for a restart.
    func stop(keepData: Bool = false) {
        process.stop()
        if !keepData { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// `porthole sandbox <arguments> --data-dir <data>`: the CLI finds this server through the data directory.
    func cli(_ arguments: [String], environment: [String: String]? = nil) async throws -> CommandResult {
        try await CommandResult.run(TestPaths.portholeBinary, ["sandbox"] + arguments + ["--data-dir", dataDirectory], environment: environment)
    }

    /// One request through the plain-HTTP listener (proxy mode) to `<port>-<sandbox>.preview.localhost`.
    func proxy(sandbox: String, port: Int, path: String = "/", headers: [String] = []) async throws -> CurlResponse {
        try await Curl.get(url: "http://127.0.0.1:\(httpPort)\(path)", headers: ["Host: \(port)-\(sandbox).preview.localhost"] + headers)
    }
}

/// An upstream for the proxied requests: Python's http.server on 127.0.0.1, any free port.
final class Upstream: Sendable {
    let process: ChildProcess
    let port: Int
    let directory: String

    static func start() async throws -> Upstream {
        let directory = try TestPaths.temporaryDirectory()
        try "hello from the sandbox\n".write(toFile: directory + "/index.html", atomically: true, encoding: .utf8)
        let process = try ChildProcess(
            TestPaths.which("python3"), ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", directory], name: "http.server"
        )
        do {
            let (stdout, _) = try await process.waitFor("the serving line") { stdout, _ in stdout.contains("port ") }
            guard let range = stdout.range(of: "port "), let port = Int(stdout[range.upperBound...].prefix { $0.isNumber }) else {
                throw TestFailure("unexpected http.server output: \(stdout)")
            }
            return Upstream(process: process, port: port, directory: directory)
        } catch {
            process.stop()
            throw error
        }
    }

    private init(process: ChildProcess, port: Int, directory: String) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    /// SIGKILL: it holds nothing worth a clean exit, and a child of the test runner may start with
    /// SIGTERM blocked (it then sat out `ChildProcess.stop()`'s whole grace period).
    func stop() {
        process.signal(SIGKILL)
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Exit status and output of a finished command.
struct CommandResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String

    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(stdout) \(stderr)")
        }
        return object
    }

    func jsonArray() throws -> [[String: Any]] {
        guard let array = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]] else {
            throw TestFailure("not a JSON array: \(stdout) \(stderr)")
        }
        return array
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Duration = .seconds(60)) async throws -> CommandResult {
        let process = try ChildProcess(executable, arguments, environment: environment)
        defer { process.stop() }
        let status = try await process.waitForExit(timeout: timeout)
        process.drainOutput()
        return CommandResult(status: status, stdout: process.standardOutput, stderr: process.standardError)
    }
}

/// A response as curl saw it.
struct CurlResponse: Sendable {
    var status: Int
    var headers: String
    var body: String

    func header(_ name: String) -> String? {
        let lastHead = headers.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }.last ?? ""
        for line in lastHead.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == name.lowercased() {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// The error code of a JSON error body (the proxy's or the admin API's).
    var code: String? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["code"] as? String
    }

    /// `name=value` of the session cookie set by this response.
    var sessionCookie: String? {
        header("Set-Cookie").map { String($0.split(separator: ";")[0]) }
    }
}

enum Curl {
    static func get(url: String, method: String = "GET", headers: [String] = [], body: String? = nil) async throws -> CurlResponse {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var arguments = ["-sS", "-X", method, "-D", directory + "/headers", "-o", directory + "/body", "-w", "%{http_code}", "--max-time", "30"]
        for header in headers { arguments += ["-H", header] }
        if let body { arguments += ["--data-binary", body] }
        let result = try await CommandResult.run(TestPaths.which("curl"), arguments + [url])
        guard let status = Int(result.stdout), status != 0 else {
            throw TestFailure("curl failed (\(result.status)): \(result.stderr)")
        }
        return CurlResponse(
            status: status,
            headers: (try? String(contentsOfFile: directory + "/headers", encoding: .utf8)) ?? "",
            body: (try? String(contentsOfFile: directory + "/body", encoding: .utf8)) ?? ""
        )
    }
}

/// Runs `body` with a fresh server and upstream, stopping both whatever happens.
func withServer(arguments: [String] = [], _ body: (PortholeServer, Upstream) async throws -> Void) async throws {
    let upstream = try await Upstream.start()
    defer { upstream.stop() }
    let server = try await PortholeServer.start(arguments: arguments)
    defer { server.stop() }
    try await body(server, upstream)
}

/// Polls `attempt` (every 50 ms) until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(10), _ attempt: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await attempt() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}
