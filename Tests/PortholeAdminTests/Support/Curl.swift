import PortholeTestSupport
import Foundation

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
