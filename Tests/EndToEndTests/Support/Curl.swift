import PortholeTestSupport
import Foundation

extension CurlResponse {
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
        return try await CurlResponse.fetch(
            "\(scheme)://\(host):\(port)\(path)",
            arguments: ["--cacert", instance.caFile, "--resolve", "\(host):\(port):127.0.0.1"] + arguments,
            timeout: timeout
        )
    }
}
