import PortholeTestSupport
import Foundation
import PortholeClient

/// What the admin API tests need of a running server: its admin API and its plain-HTTP proxy listener.
extension PortholeProcess {
    var adminURL: String { "http://127.0.0.1:\(adminPort)" }
    var adminToken: String {
        (try? String(contentsOfFile: dataDirectory + "/admin-token", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    func client(token: String? = nil) throws -> AdminClient {
        try AdminClient(url: adminURL, token: token ?? adminToken)
    }

    /// One request through the plain-HTTP listener (proxy mode) to `<port>-<sandbox>.preview.localhost`.
    func proxy(sandbox: String, port: Int, path: String = "/", headers: [String] = []) async throws -> CurlResponse {
        try await Curl.get(url: "http://127.0.0.1:\(httpPort)\(path)", headers: ["Host: \(port)-\(sandbox).preview.localhost"] + headers)
    }
}

/// Runs `body` with a fresh server and upstream, stopping both whatever happens.
func withServer(arguments: [String] = [], _ body: (PortholeProcess, Upstream) async throws -> Void) async throws {
    let upstream = try await Upstream.start()
    defer { upstream.stop() }
    let server = try await PortholeProcess.start(arguments: arguments)
    defer { server.stop() }
    try await body(server, upstream)
}
