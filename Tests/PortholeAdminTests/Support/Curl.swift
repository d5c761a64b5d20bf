import PortholeTestSupport

/// curl against the admin API (or any URL): a thin call of the shared ``CurlResponse/fetch``.
enum Curl {
    static func get(url: String, method: String = "GET", headers: [String] = [], body: String? = nil) async throws -> CurlResponse {
        var arguments = ["-X", method]
        for header in headers { arguments += ["-H", header] }
        if let body { arguments += ["--data-binary", body] }
        return try await CurlResponse.fetch(url, arguments: arguments)
    }
}
