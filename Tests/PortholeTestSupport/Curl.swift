public import Foundation

/// A response as curl saw it.
public struct CurlResponse: Sendable {
    public var status: Int
    /// Every response head curl received (interim ones and redirects included), raw.
    public var headers: String
    public var body: Data

    public init(status: Int, headers: String, body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// A field of the final response head (the last one curl received), trimmed.
    public func header(_ name: String) -> String? {
        let lastHead = headers.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }.last ?? ""
        for line in lastHead.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == name.lowercased() {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    public func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw TestFailure("not JSON: \(text)")
        }
        return object
    }

    /// The error code of a JSON error body (the proxy's or the admin API's).
    public var code: String? {
        (try? json())?["code"] as? String
    }

    /// `name=value` of the cookie set by this response.
    public var sessionCookie: String? {
        header("Set-Cookie").map { String($0.split(separator: ";")[0]) }
    }

    /// Runs curl with `arguments` on `url`, keeping every head and the body.
    public static func fetch(_ url: String, arguments: [String], timeout: Duration = .seconds(60)) async throws -> CurlResponse {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await CommandResult.run(
            TestPaths.which("curl"),
            ["-sS", "-D", directory + "/headers", "-o", directory + "/body", "-w", "%{http_code}", "--max-time", "30"]
                + arguments + [url],
            timeout: timeout
        )
        guard let status = Int(result.stdout), result.status == 0 || status != 0 else {
            throw TestFailure("curl failed (\(result.status)): \(result.stderr)")
        }
        return CurlResponse(
            status: status,
            headers: (try? String(contentsOfFile: directory + "/headers", encoding: .utf8)) ?? "",
            body: FileManager.default.contents(atPath: directory + "/body") ?? Data()
        )
    }
}

/// Polls `attempt` (every 50 ms) until it holds or `timeout` passes: for changes that reach a
/// server through a change feed or a timer, where no event says "now".
public func eventually(timeout: Duration = .seconds(5), _ attempt: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await attempt() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}
