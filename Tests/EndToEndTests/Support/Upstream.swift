import Foundation
import PortholeTestSupport

/// The Python upstream (Peers/upstream.py): an HTTP/1.1 server and a WebSocket echo server.
final class Upstream: Sendable {
    let process: ChildProcess
    let httpPort: Int
    let webSocketPort: Int

    static func start() async throws -> Upstream {
        let process = try ChildProcess(TestPaths.which("python3"), ["-u", TestPaths.peers + "/upstream.py"], name: "upstream.py")
        do {
            let (stdout, _) = try await process.waitFor("ready line") { stdout, _ in stdout.contains("\n") }
            let words = stdout.split(separator: "\n")[0].split(separator: " ")
            guard words.count == 3, words[0] == "ready", let http = Int(words[1]), let ws = Int(words[2]) else {
                throw TestFailure("unexpected upstream output: \(stdout)")
            }
            return Upstream(process: process, httpPort: http, webSocketPort: ws)
        } catch {
            process.stop()
            throw error
        }
    }

    private init(process: ChildProcess, httpPort: Int, webSocketPort: Int) {
        self.process = process
        self.httpPort = httpPort
        self.webSocketPort = webSocketPort
    }

    func stop() { process.stop() }

    /// How many requests for `path` reached this upstream, asked directly (not through the proxy).
    func requestCount(path: String) async throws -> Int {
        let result = try await CommandResult.run(
            TestPaths.which("curl"), ["-sS", "-G", "--data-urlencode", "path=\(path)", "http://127.0.0.1:\(httpPort)/seen"]
        )
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
            let count = object["count"] as? Int
        else { throw TestFailure("unexpected /seen answer: \(result.stdout) \(result.stderr)") }
        return count
    }
}
