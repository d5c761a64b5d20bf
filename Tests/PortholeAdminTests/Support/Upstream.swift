import PortholeTestSupport
import Foundation

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
