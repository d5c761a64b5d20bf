import Foundation
import PortholeTestSupport
import Testing

/// What the Daytona-compatible API answers to requests the SDK would never send, through curl
/// against the real server: always Daytona's error shape with a status that says what is wrong,
/// never a 5xx, and nothing about sandboxes before the key is checked.
@Suite("Daytona-compatible API errors", .serialized)
struct DaytonaAPIErrorTests {
    private struct Answer {
        var status: Int
        var json: [String: Any]
        var headers: String
    }

    private func call(
        _ server: PortholeProcess, _ method: String, _ path: String, body: String? = nil, contentType: String? = "application/json",
        token: String? = nil
    ) async throws -> Answer {
        var arguments = ["-X", method]
        let presented = token ?? server.adminToken
        if !presented.isEmpty { arguments += ["-H", "Authorization: Bearer \(presented)"] }
        if let body {
            arguments += ["--data-binary", body]
            if let contentType { arguments += ["-H", "Content-Type: \(contentType)"] } else { arguments += ["-H", "Content-Type:"] }
        }
        let response = try await CurlResponse.fetch(server.adminURL + path, arguments: arguments)
        let json = (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]) ?? [:]
        return Answer(status: response.status, json: json, headers: response.headers)
    }

    private func expectError(_ answer: Answer, _ status: Int, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == status, "\(answer.json)", sourceLocation: sourceLocation)
        #expect(answer.json["statusCode"] as? Int == status, "\(answer.json)", sourceLocation: sourceLocation)
        #expect(answer.json["code"] is String, sourceLocation: sourceLocation)
        #expect((answer.json["message"] as? String ?? "").contains(fragment), "\(answer.json)", sourceLocation: sourceLocation)
    }

    @Test("malformed bodies, wrong methods, unknown paths, the platform's operations, no key")
    func errors() async throws {
        try await withServer(arguments: ["--default-target", "127.0.0.1"]) { server, _ in
            expectError(try await call(server, "POST", "/api/sandbox", body: "{not json"), 400, "not valid JSON")
            expectError(try await call(server, "POST", "/api/sandbox", body: "[1]"), 400, "must be a JSON object")
            expectError(try await call(server, "POST", "/api/sandbox", body: #"{"public":"yes"}"#), 400, "public must be true or false")
            expectError(try await call(server, "POST", "/api/sandbox", body: #"{"labels":{"a":1}}"#), 400, "labels")
            expectError(try await call(server, "POST", "/api/sandbox", body: #"{"name":"UPPER"}"#), 400, "name must be")
            expectError(try await call(server, "POST", "/api/sandbox", body: #"{"public":true,"public":false}"#), 400, "more than once")
            expectError(try await call(server, "POST", "/api/sandbox", body: "{}", contentType: "text/plain"), 415, "must be JSON")
            expectError(try await call(server, "POST", "/api/sandbox", body: String(repeating: "x", count: 70_000)), 413, "larger than")
            expectError(try await call(server, "GET", "/api/sandbox?labels=notjson"), 400, "labels must be a JSON object")
            expectError(try await call(server, "GET", "/api/sandbox?limit=0"), 400, "limit")

            let created = try await call(server, "POST", "/api/sandbox", body: #"{"name":"web"}"#)
            #expect(created.status == 200 && created.json["id"] as? String == "web", "\(created.json)")
            expectError(try await call(server, "POST", "/api/sandbox", body: #"{"name":"web"}"#), 409, "already exists")
            expectError(try await call(server, "POST", "/api/sandbox/web/public/maybe"), 400, "true or false")
            expectError(try await call(server, "GET", "/api/sandbox/web/ports/99999/preview-url"), 400, "port")
            expectError(try await call(server, "GET", "/api/sandbox/web/ports/3000/signed-preview-url?expiresInSeconds=0"), 400, "expiresInSeconds")
            expectError(try await call(server, "POST", "/api/sandbox/web/ports/3000/signed-preview-url/nonsense/expire"), 404, "signed preview URL")
            expectError(try await call(server, "PUT", "/api/sandbox/web/labels", body: "{}"), 400, "labels is required")
            expectError(try await call(server, "POST", "/api/sandbox/web/network-settings", body: #"{"networkAllowList":"nope"}"#), 400, "nope")

            let wrongMethod = try await call(server, "PATCH", "/api/sandbox/web")
            expectError(wrongMethod, 405, "not allowed")
            #expect(wrongMethod.headers.lowercased().contains("allow: get, delete"))
            expectError(try await call(server, "GET", "/api/nothing-here"), 404, "no GET /api/nothing-here")
            expectError(try await call(server, "POST", "/api/sandbox/web/start"), 501, "does not run sandboxes")
            expectError(try await call(server, "POST", "/api/toolbox/web/toolbox/process/execute", body: "{}"), 501, "toolbox")
            expectError(try await call(server, "GET", "/api/sandbox/missing"), 404, "no sandbox has id 'missing'")

            // Without a key: 401 before anything is looked up (a missing sandbox looks the same).
            let anonymous = try await call(server, "GET", "/api/sandbox/web", token: "")
            expectError(anonymous, 401, "API key")
            #expect(anonymous.headers.lowercased().contains("www-authenticate: bearer"))
            expectError(try await call(server, "GET", "/api/sandbox/missing", token: ""), 401, "API key")
            expectError(try await call(server, "GET", "/api/sandbox/web", token: "ph_aaaaaaaaaaaa_bogus"), 401, "API key")
            // The SDK's event channel: a quick 404, with or without a key.
            expectError(try await call(server, "GET", "/api/socket.io/?EIO=4&transport=websocket", token: ""), 404, "poll")
        }
    }
}
