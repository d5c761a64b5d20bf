import PortholeTestSupport
import Foundation
import PortholeClient
import PortholeCore
import Testing

/// What admin API writes do to proxied requests: each takes effect on the very next request (the API
/// invalidates the policy cache after the durable write; no polling, no waiting for the change feed).
@Suite("Preview access through the admin API", .serialized)
struct PreviewAccessTests {
    @Test("setPublic true → false denies the very next proxied request")
    func setPublicIsImmediate() async throws {
        try await withServer { server, upstream in
            let client = try server.client()
            let created = try await client.createSandbox(SandboxCreateRequest(id: "web", target: "127.0.0.1", isPublic: true))
            for round in 0..<5 {
                // The cache holds the public policy (warmed by the request) when the write happens.
                #expect(try await server.proxy(sandbox: "web", port: upstream.port).status == 200, "round \(round)")
                #expect(try await client.setPublic(id: "web", false).isPublic == false)
                let denied = try await server.proxy(sandbox: "web", port: upstream.port)
                #expect(denied.status == 401, "round \(round)")
                #expect(denied.code == "token_missing")
                #expect(try await server.proxy(sandbox: "web", port: upstream.port, headers: ["X-Preview-Token: \(created.previewToken)"]).status == 200)
                _ = try await client.setPublic(id: "web", true)
            }
            // The same for the other writes: stop, start, delete.
            _ = try await client.updateSandbox(id: "web", SandboxUpdateRequest(state: .stopped))
            #expect(try await server.proxy(sandbox: "web", port: upstream.port).status == 503)
            _ = try await client.updateSandbox(id: "web", SandboxUpdateRequest(state: .started))
            #expect(try await server.proxy(sandbox: "web", port: upstream.port).status == 200)
            try await client.deleteSandbox(id: "web")
            #expect(try await server.proxy(sandbox: "web", port: upstream.port).status == 404)
            // A sandbox created after a 404 was cached is found at once.
            _ = try await client.createSandbox(SandboxCreateRequest(id: "web", target: "127.0.0.1", isPublic: true))
            #expect(try await server.proxy(sandbox: "web", port: upstream.port).status == 200)
        }
    }

    @Test("rotation: the old token and the session cookie it made stop working on the next request")
    func rotation() async throws {
        try await withServer { server, upstream in
            let client = try server.client()
            let created = try await client.createSandbox(SandboxCreateRequest(id: "priv", target: "127.0.0.1"))
            let old = created.previewToken
            let exchange = try await server.proxy(
                sandbox: "priv", port: upstream.port, path: "/?preview_token=\(old)", headers: ["Sec-Fetch-Mode: navigate"]
            )
            #expect(exchange.status == 302)
            let session = try #require(exchange.sessionCookie)
            #expect(try await server.proxy(sandbox: "priv", port: upstream.port, headers: ["Cookie: \(session)"]).status == 200)
            #expect(try await server.proxy(sandbox: "priv", port: upstream.port, headers: ["X-Preview-Token: \(old)"]).status == 200)

            let rotated = try await client.rotatePreviewToken(id: "priv")
            let stale = try await server.proxy(sandbox: "priv", port: upstream.port, headers: ["X-Preview-Token: \(old)"])
            #expect(stale.status == 403 && stale.code == "token_invalid")
            #expect(try await server.proxy(sandbox: "priv", port: upstream.port, headers: ["Cookie: \(session)"]).status == 403)
            #expect(try await server.proxy(sandbox: "priv", port: upstream.port, path: "/?preview_token=\(old)").status == 403)
            let fresh = try await server.proxy(sandbox: "priv", port: upstream.port, headers: ["X-Preview-Token: \(rotated.previewToken)"])
            #expect(fresh.status == 200)
            #expect(fresh.text.contains("hello from the sandbox"))
        }
    }

    @Test("a signed preview URL opens its port without any header, until it expires")
    func signedURLExpiry() async throws {
        try await withServer { server, upstream in
            let client = try server.client()
            _ = try await client.createSandbox(SandboxCreateRequest(id: "shared", target: "127.0.0.1"))
            let signed = try await client.signedPreviewURL(id: "shared", port: upstream.port, expiresInSeconds: 1)
            let path = String(signed.url[signed.url.range(of: "/?preview_token=")!.lowerBound...])
            #expect(path == "/?preview_token=\(signed.token)")

            let program = try await server.proxy(sandbox: "shared", port: upstream.port, path: path)
            // Within its second (the test would be too slow a machine otherwise; then the expiry is checked below anyway).
            if Int64(Date().timeIntervalSince1970) < signed.expiresAt {
                #expect(program.status == 200)
                #expect(program.text.contains("hello from the sandbox"))
            }
            // Bound to its port and sandbox.
            #expect(try await server.proxy(sandbox: "shared", port: upstream.port + 1, path: path).status == 403)

            // Poll for the expiry rather than sleeping a fixed time.
            #expect(
                try await eventually(timeout: .seconds(15)) {
                    try await server.proxy(sandbox: "shared", port: upstream.port, path: path).status == 403
                })
            let expired = try await server.proxy(sandbox: "shared", port: upstream.port, path: path)
            #expect(expired.code == "preview_link_expired")
            #expect(Int64(Date().timeIntervalSince1970) >= signed.expiresAt)
        }
    }

    @Test("a browser session from a signed URL never outlives the URL")
    func signedURLSessionExpiry() async throws {
        try await withServer { server, upstream in
            let client = try server.client()
            _ = try await client.createSandbox(SandboxCreateRequest(id: "shared", target: "127.0.0.1"))
            let signed = try await client.signedPreviewURL(id: "shared", port: upstream.port, expiresInSeconds: 2)
            let exchange = try await server.proxy(
                sandbox: "shared", port: upstream.port, path: "/?preview_token=\(signed.token)", headers: ["Sec-Fetch-Mode: navigate"]
            )
            #expect(exchange.status == 302)
            #expect(exchange.header("Location") == "/")
            let setCookie = try #require(exchange.header("Set-Cookie"))
            let maxAge = try #require(setCookie.split(separator: ";").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("Max-Age=") })
            #expect(Int(maxAge.split(separator: "=")[1])! <= 2)
            let session = try #require(exchange.sessionCookie)
            if Int64(Date().timeIntervalSince1970) < signed.expiresAt {
                #expect(try await server.proxy(sandbox: "shared", port: upstream.port, headers: ["Cookie: \(session)"]).status == 200)
            }
            #expect(
                try await eventually(timeout: .seconds(15)) {
                    try await server.proxy(sandbox: "shared", port: upstream.port, headers: ["Cookie: \(session)"]).status == 403
                })
        }
    }

    @Test("revoking a signed URL ends it and the browser session it started, on the next request")
    func signedURLRevocation() async throws {
        try await withServer { server, upstream in
            let client = try server.client()
            _ = try await client.createSandbox(SandboxCreateRequest(id: "shared", target: "127.0.0.1"))
            let revoked = try await client.signedPreviewURL(id: "shared", port: upstream.port, expiresInSeconds: 600)
            let kept = try await client.signedPreviewURL(id: "shared", port: upstream.port, expiresInSeconds: 600)
            let path = "/?preview_token=\(revoked.token)"

            let exchange = try await server.proxy(sandbox: "shared", port: upstream.port, path: path, headers: ["Sec-Fetch-Mode: navigate"])
            let session = try #require(exchange.sessionCookie)
            let keptExchange = try await server.proxy(
                sandbox: "shared", port: upstream.port, path: "/?preview_token=\(kept.token)", headers: ["Sec-Fetch-Mode: navigate"]
            )
            let keptSession = try #require(keptExchange.sessionCookie)
            #expect(try await server.proxy(sandbox: "shared", port: upstream.port, headers: ["Cookie: \(session)"]).status == 200)
            #expect(try await server.proxy(sandbox: "shared", port: upstream.port, path: path).status == 200)

            _ = try await client.expireSignedPreviewURL(id: "shared", port: upstream.port, token: revoked.token)
            let denied = try await server.proxy(sandbox: "shared", port: upstream.port, path: path)
            #expect(denied.status == 403 && denied.code == "preview_link_revoked")
            #expect(try await server.proxy(sandbox: "shared", port: upstream.port, headers: ["Cookie: \(session)"]).status == 403)
            // Only that URL: another one and its session still open.
            #expect(try await server.proxy(sandbox: "shared", port: upstream.port, path: "/?preview_token=\(kept.token)").status == 200)
            #expect(try await server.proxy(sandbox: "shared", port: upstream.port, headers: ["Cookie: \(keptSession)"]).status == 200)
            // A revocation survives unrelated writes to the record.
            _ = try await client.setPublic(id: "shared", false)
            #expect(try await server.proxy(sandbox: "shared", port: upstream.port, path: path).status == 403)

            // Rotating the preview token ends every signed URL at once.
            _ = try await client.rotatePreviewToken(id: "shared")
            #expect(try await server.proxy(sandbox: "shared", port: upstream.port, path: "/?preview_token=\(kept.token)").status == 403)
            #expect(try await server.proxy(sandbox: "shared", port: upstream.port, headers: ["Cookie: \(keptSession)"]).status == 403)
        }
    }
}
