import PortholeTestSupport
import Foundation

/// A response as curl saw it.
struct CurlResponse: Sendable {
    var status: Int
    /// Every response head curl received (interim ones and redirects included), raw.
    var headers: String
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        // The last head is the final response.
        let lastHead = headers.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }.last ?? ""
        for line in lastHead.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == name.lowercased() {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw TestFailure("not JSON: \(text)")
        }
        return object
    }

    /// Header pairs as the upstream's /echo endpoint reported them.
    func echoedHeaders() throws -> [(String, String)] {
        let pairs = try json()["headers"] as? [[String]] ?? []
        return pairs.map { ($0[0], $0[1]) }
    }
}

/// Runs curl against the proxy with the test CA and a --resolve for the preview host.
struct Curl {
    let instance: PortholeProcess

    func get(
        _ host: String,
        _ path: String = "/",
        https: Bool = true,
        arguments: [String] = [],
        timeout: Duration = .seconds(60)
    ) async throws -> CurlResponse {
        let port = https ? instance.httpsPort : instance.httpPort
        let scheme = https ? "https" : "http"
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await CommandResult.run(
            TestPaths.which("curl"),
            [
                "-sS", "--cacert", instance.caFile, "--resolve", "\(host):\(port):127.0.0.1",
                "-D", directory + "/headers", "-o", directory + "/body", "-w", "%{http_code}",
                "--max-time", "30",
            ] + arguments + ["\(scheme)://\(host):\(port)\(path)"],
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
