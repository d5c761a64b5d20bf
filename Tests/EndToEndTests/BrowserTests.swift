import PortholeTestSupport
import Foundation
import Testing

/// Porthole in Debian's Chromium, driven by Playwright for Python (`Peers/browser_*.py`).
@Suite("Browser")
struct BrowserTests {
    @Test("a page on another origin calls a private preview with fetch() and the token header; the preflight stays at Porthole")
    func crossOriginFetchWithToken() async throws {
        try await withProxy { env in
            let token = try #require(env.tokens["priv"])
            let preview = "https://\(env.host("priv")):\(env.porthole.httpsPort)/cors-echo"
            // Any page of the upstream's own origin (http://127.0.0.1:PORT) will do as the caller.
            let page = "http://127.0.0.1:\(env.upstream.httpPort)/seen?path=none"
            // Screenshots are kept for a person to look at (the last run's, in one place).
            let artifacts = NSTemporaryDirectory() + "porthole-test-artifacts"
            try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
            let result = try await CommandResult.run(
                TestPaths.which("python3"), [TestPaths.peers + "/browser_cors.py", page, preview, token, artifacts], timeout: .seconds(90)
            )
            #expect(result.status == 0, "Chromium and Playwright for Python must be installed (.ci/run does): \(result.stderr)")
            let output = try result.json()
            let withToken = try #require(output["withToken"] as? [String: Any], "\(output)")
            #expect(withToken["status"] as? Int == 200, "\(withToken)")
            let echoed = try #require(withToken["body"] as? [String: Any])
            #expect(echoed["method"] as? String == "POST")
            let headers = (echoed["headers"] as? [[String]] ?? []).map { $0[0].lowercased() }
            #expect(!headers.contains("x-preview-token"), "the token must never reach the sandbox")
            // Without the token the real request is refused (401 without CORS fields: fetch fails).
            let withoutToken = try #require(output["withoutToken"] as? [String: Any])
            #expect(withoutToken["error"] != nil, "\(withoutToken)")
            // A person opening it without a token sees Porthole's page saying what to do.
            let navigation = try #require(output["navigation"] as? [String: Any])
            #expect(navigation["status"] as? Int == 401)
            #expect(navigation["title"] as? String == "401 Unauthorized")
            // The POST with its token arrived once; the preflights (one per call) never did.
            #expect(try await env.upstream.requestCount(path: "/cors-echo") == 1)
        }
    }

    @Test("with hostRewrite, a dev server that checks Origin against Host accepts the page's WebSocket, and its redirects stay on the preview")
    func hostRewriteInTheBrowser() async throws {
        try await withProxy(sandboxes: [SandboxSpec(id: "dev", flags: ["--public", "--host-rewrite"])]) { env in
            let origin = "https://\(env.host("dev", port: env.upstream.webSocketPort)):\(env.porthole.httpsPort)"
            let artifacts = NSTemporaryDirectory() + "porthole-test-artifacts"
            try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
            let result = try await CommandResult.run(
                TestPaths.which("python3"), [TestPaths.peers + "/browser_hostrewrite.py", origin, artifacts], timeout: .seconds(90))
            #expect(result.status == 0, "\(result.stderr)")
            let output = try result.json()
            #expect(output["socket"] as? String == "echo: hello from the page", "\(output)")
            #expect(output["redirectedTo"] as? String == origin + "/landed", "\(output)")
            #expect(output["title"] as? String == "landed")
        }
    }

    /// A dashboard on another site (the upstream's own origin, http://127.0.0.1:PORT) frames the
    /// private preview of the upstream's WebSocket port, whose page opens a WebSocket to itself.
    private func embed(_ env: ProxyEnvironment, screenshot: String) async throws -> [String: Any] {
        let token = try #require(env.tokens["priv"])
        let origin = "https://\(env.host("priv", port: env.upstream.webSocketPort)):\(env.porthole.httpsPort)"
        let dashboard = "http://127.0.0.1:\(env.upstream.httpPort)/embed"
        let artifacts = NSTemporaryDirectory() + "porthole-test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let result = try await CommandResult.run(
            TestPaths.which("python3"), [TestPaths.peers + "/browser_embed.py", dashboard, origin, token, artifacts + "/" + screenshot],
            timeout: .seconds(90))
        #expect(result.status == 0, "\(result.stderr)")
        return try result.json()
    }

    @Test("a private preview opened with ?preview_token= in another site's iframe renders, keeps its session and opens WebSockets")
    func embeddedPreview() async throws {
        try await withProxy { env in
            let output = try await embed(env, screenshot: "embedded-preview.png")
            let first = try #require(output["first"] as? [String: Any], "\(output)")
            #expect(first["title"] as? String == "echo: hello from the page", "\(output)")
            #expect((first["url"] as? String)?.contains("preview_token") == false, "the token left the frame's URL")
            let reloaded = try #require(output["reloaded"] as? [String: Any], "\(output)")
            #expect(reloaded["title"] as? String == "echo: hello from the page", "\(output)")
        }
    }

    @Test("--frame-ancestors keeps other sites from framing previews")
    func frameAncestorsBlocksOtherSites() async throws {
        try await withProxy(arguments: ["--frame-ancestors", "https://dash.example.com"]) { env in
            let output = try await embed(env, screenshot: "embedded-preview-refused.png")
            let first = try #require(output["first"] as? [String: Any], "\(output)")
            #expect(first["title"] == nil, "the frame must not render: \(output)")
        }
    }

    @Test("a sandbox that sets cookies for the base domain reaches no other sandbox, and cannot break its session")
    func cookiesStayWithTheirSandbox() async throws {
        try await withProxy { env in
            let token = try #require(env.tokens["priv"])
            let planter = "https://\(env.host("pub")):\(env.porthole.httpsPort)"
            let victim = "https://\(env.host("priv")):\(env.porthole.httpsPort)"
            let result = try await CommandResult.run(
                TestPaths.which("python3"), [TestPaths.peers + "/browser_cookies.py", planter, victim, token], timeout: .seconds(90))
            #expect(result.status == 0, "\(result.stderr)")
            let output = try result.json()
            #expect(output["before"] as? Int == 200, "\(output)")
            #expect(output["after"] as? Int == 200, "a planted session cookie must not lock the user out: \(output)")
            // The token-for-cookie exchange and the session ran over HTTP/2.
            #expect(output["protocol"] as? String == "h2", "\(output)")
            let victimCookie = (output["victimCookie"] as? [String] ?? []).joined()
            #expect(!victimCookie.contains("planted"), "\(output)")
            let stored = output["stored"] as? [[String: String]] ?? []
            for cookie in stored where cookie["name"] == "planted" || cookie["name"] == "porthole_session" {
                #expect(cookie["domain"] == env.host("pub"), "host-only on the sandbox that set it: \(cookie)")
            }
            #expect(stored.contains { $0["name"] == "planted" }, "the planter's own cookie still works for itself: \(stored)")
        }
    }
}
