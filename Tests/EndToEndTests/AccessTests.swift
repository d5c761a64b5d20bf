import PortholeTestSupport
import Foundation
import Testing

/// Public and private access through the real binary: token header, token-for-cookie exchange,
/// query tokens for programs, stripping of every credential before the sandbox sees the request.
@Suite("Access", .serialized)
struct AccessTests {
    @Test("a public sandbox is open without a token")
    func publicSandbox() async throws {
        try await withProxy { env in
            let response = try await env.curl.get(env.host("pub"), "/echo")
            #expect(response.status == 200)
            #expect(try response.json()["method"] as? String == "GET")
        }
    }

    @Test("a private sandbox without a token gets 401 saying how to pass one")
    func privateWithoutToken() async throws {
        try await withProxy { env in
            let response = try await env.curl.get(env.host("priv"), "/echo")
            #expect(response.status == 401)
            let json = try response.json()
            #expect(json["code"] as? String == "token_missing")
            #expect((json["message"] as? String ?? "").contains("X-Preview-Token"))
            #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)

            let page = try await env.curl.get(env.host("priv"), "/echo", arguments: ["-H", "Accept: text/html"])
            #expect(page.status == 401)
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(page.text.contains("X-Preview-Token"))
        }
    }

    @Test("the token header opens a private sandbox and never reaches it", arguments: ["X-Preview-Token", "X-Daytona-Preview-Token"])
    func tokenHeader(header: String) async throws {
        try await withProxy { env in
            let token = env.tokens["priv"]!
            let response = try await env.curl.get(env.host("priv"), "/echo", arguments: ["-H", "\(header): \(token)"])
            #expect(response.status == 200)
            let headers = try response.echoedHeaders()
            #expect(!headers.contains { $0.0.lowercased().contains("preview-token") })
            #expect(!headers.contains { $0.1.contains(token) })
        }
    }

    @Test("a wrong token gets 403, even with a valid session cookie")
    func wrongToken() async throws {
        try await withProxy { env in
            let response = try await env.curl.get(env.host("priv"), "/echo", arguments: ["-H", "X-Preview-Token: not-the-token"])
            #expect(response.status == 403)
            #expect(try response.json()["code"] as? String == "token_invalid")
        }
    }

    @Test("a browser trades ?preview_token= for a host-only session cookie and is redirected without it")
    func tokenForCookieExchange() async throws {
        try await withProxy { env in
            let token = env.tokens["priv"]!
            let host = env.host("priv")
            let first = try await env.curl.get(host, "/echo?a=1&preview_token=\(token)&b=2", arguments: ["-H", "Sec-Fetch-Mode: navigate"])
            #expect(first.status == 302)
            #expect(first.header("Location") == "/echo?a=1&b=2")
            let cookie = try #require(first.header("Set-Cookie"))
            #expect(cookie.hasPrefix("__Host-porthole_session=") && !cookie.lowercased().contains("domain="))
            for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
                #expect(cookie.contains(attribute))
            }
            #expect(!cookie.lowercased().contains("domain="))
            #expect(first.header("Cache-Control") == "no-store")

            let session = String(cookie.split(separator: ";")[0])
            let second = try await env.curl.get(
                host, "/echo?a=1&b=2", arguments: ["-H", "Sec-Fetch-Mode: navigate", "-H", "Cookie: theme=dark; \(session); lang=en"]
            )
            #expect(second.status == 200)
            let cookies = try second.echoedHeaders().filter { $0.0.lowercased() == "cookie" }.map(\.1)
            #expect(cookies == ["theme=dark; lang=en"])
        }
    }

    @Test("programs may pass ?preview_token=: no redirect, and the parameter is stripped")
    func queryTokenForPrograms() async throws {
        try await withProxy { env in
            let token = env.tokens["priv"]!
            let response = try await env.curl.get(env.host("priv"), "/echo?x=1&preview_token=\(token)")
            #expect(response.status == 200)
            #expect(try response.json()["target"] as? String == "/echo?x=1")
        }
    }

    @Test("Daytona's DAYTONA_SANDBOX_AUTH_KEY works as preview_token: stripped, traded for a cookie, never logged")
    func daytonaQueryParameter() async throws {
        try await withProxy { env in
            let token = env.tokens["priv"]!
            let program = try await env.curl.get(env.host("priv"), "/echo?DAYTONA_SANDBOX_AUTH_KEY=\(token)&x=1")
            #expect(program.status == 200)
            #expect(try program.json()["target"] as? String == "/echo?x=1")
            let browser = try await env.curl.get(
                env.host("priv"), "/echo?x=2&DAYTONA_SANDBOX_AUTH_KEY=\(token)", arguments: ["-H", "Sec-Fetch-Mode: navigate"])
            #expect(browser.status == 302)
            #expect(browser.header("Location") == "/echo?x=2")
            #expect(browser.header("Set-Cookie")?.hasPrefix("__Host-porthole_session=") == true)
            let wrong = try await env.curl.get(env.host("priv"), "/echo?DAYTONA_SANDBOX_AUTH_KEY=wrong-token")
            #expect(wrong.status == 403 || wrong.status == 401, "\(wrong.status)")
            #expect(!env.porthole.process.standardOutput.contains(token), "the token is in the access log")
        }
    }

    @Test("a CORS preflight of a private sandbox is answered by Porthole and never reaches the sandbox")
    func preflight() async throws {
        try await withProxy { env in
            let preflight = ["-X", "OPTIONS", "-H", "Origin: https://app.example", "-H", "Access-Control-Request-Method: POST"]
            let response = try await env.curl.get(
                env.host("priv"), "/admin/delete-everything",
                arguments: preflight + ["-H", "Access-Control-Request-Headers: x-preview-token, content-type"]
            )
            #expect(response.status == 204)
            #expect(response.body.isEmpty)
            #expect(response.header("Access-Control-Allow-Origin") == "https://app.example")
            #expect(response.header("Access-Control-Allow-Methods") == "POST")
            #expect(response.header("Access-Control-Allow-Headers") == "x-preview-token, content-type")
            #expect(response.header("Vary")?.contains("Origin") == true)
            // A foreign origin may send the token header, never the browser's cookies.
            #expect(response.header("Access-Control-Allow-Credentials") == nil)
            #expect(try await env.upstream.requestCount(path: "/admin/delete-everything") == 0)

            // Another port of the same sandbox is the app itself: credentials allowed.
            let sameSandbox = try await env.curl.get(
                env.host("priv"), "/echo",
                arguments: [
                    "-X", "OPTIONS", "-H", "Origin: https://\(env.host("priv", port: 5173)):\(env.porthole.httpsPort)",
                    "-H", "Access-Control-Request-Method: PUT",
                ]
            )
            #expect(sameSandbox.status == 204)
            #expect(sameSandbox.header("Access-Control-Allow-Credentials") == "true")

            // What no browser sends as a preflight is an ordinary request and needs a token:
            // a body, no Origin, a plain OPTIONS, a header list that could break out of its line.
            let withBody = try await env.curl.get(
                env.host("priv"), "/admin/delete-everything", arguments: preflight + ["--data", #"{"action":"drop"}"#]
            )
            #expect(withBody.status == 401)
            let withoutOrigin = try await env.curl.get(
                env.host("priv"), "/echo", arguments: ["-X", "OPTIONS", "-H", "Access-Control-Request-Method: POST"]
            )
            #expect(withoutOrigin.status == 401)
            let plain = try await env.curl.get(env.host("priv"), "/echo", arguments: ["-X", "OPTIONS"])
            #expect(plain.status == 401)
            let badList = try await env.curl.get(
                env.host("priv"), "/echo", arguments: preflight + ["-H", "Access-Control-Request-Headers: a b"]
            )
            #expect(badList.status == 401)
            #expect(try await env.upstream.requestCount(path: "/admin/delete-everything") == 0)

            // A public sandbox's preflight is the app's own business: forwarded.
            let publicPreflight = try await env.curl.get(env.host("pub"), "/echo", arguments: preflight)
            #expect(publicPreflight.status == 200)
            #expect(try publicPreflight.json()["method"] as? String == "OPTIONS")
        }
    }

    @Test("rotation invalidates the old token and the cookies it made; public→private takes effect")
    func rotationAndSetPublic() async throws {
        try await withProxy { env in
            let oldToken = env.tokens["priv"]!
            let host = env.host("priv")
            let exchange = try await env.curl.get(host, "/?preview_token=\(oldToken)", arguments: ["-H", "Sec-Fetch-Mode: navigate"])
            let session = String(try #require(exchange.header("Set-Cookie")).split(separator: ";")[0])
            #expect(try await env.curl.get(host, "/echo", arguments: ["-H", "Cookie: \(session)"]).status == 200)

            let rotated = try await env.porthole.cli(["rotate-token", "priv", "--json"])
            #expect(rotated.status == 0)
            let newToken = try #require(try rotated.json()["previewToken"] as? String)
            #expect(newToken != oldToken)
            #expect(
                try await eventually {
                    try await env.curl.get(host, "/echo", arguments: ["-H", "X-Preview-Token: \(oldToken)"]).status == 403
                })
            #expect(try await env.curl.get(host, "/echo", arguments: ["-H", "Cookie: \(session)"]).status == 403)
            #expect(try await env.curl.get(host, "/echo", arguments: ["-H", "X-Preview-Token: \(newToken)"]).status == 200)

            #expect(try await env.curl.get(env.host("pub"), "/echo").status == 200)
            #expect(try await env.porthole.cli(["set-public", "pub", "false"]).status == 0)
            #expect(try await eventually { try await env.curl.get(env.host("pub"), "/echo").status == 401 })
        }
    }

    @Test("forwarding fields are set, spoofed ones replaced, the client's Host kept")
    func forwardingHeaders() async throws {
        try await withProxy { env in
            let host = env.host("pub")
            let response = try await env.curl.get(
                host, "/echo",
                arguments: [
                    // Fields named in Connection are an HTTP/1.1 notion (HTTP/2 has no Connection field).
                    "--http1.1",
                    "-H", "X-Forwarded-For: 203.0.113.9", "-H", "X-Forwarded-Proto: gopher", "-H", "X-Forwarded-Host: evil.example",
                    "-H", "Connection: keep-alive, X-Secret-Hop", "-H", "X-Secret-Hop: 1", "-H", "Keep-Alive: timeout=5",
                ]
            )
            #expect(response.status == 200)
            let headers = Dictionary(try response.echoedHeaders().map { ($0.0.lowercased(), $0.1) }, uniquingKeysWith: { $0 + "|" + $1 })
            #expect(headers["host"] == "\(host):\(env.porthole.httpsPort)")
            // The client is not a trusted proxy: its claimed address is replaced, not appended to.
            #expect(headers["x-forwarded-for"] == "127.0.0.1")
            #expect(headers["x-forwarded-proto"] == "https")
            #expect(headers["x-forwarded-host"] == "\(host):\(env.porthole.httpsPort)")
            #expect(headers["x-forwarded-port"] == String(env.porthole.httpsPort))
            #expect(headers["x-secret-hop"] == nil)
            #expect(headers["keep-alive"] == nil)
            #expect(headers["connection"] == nil)
        }
    }

    @Test("from a trusted proxy, X-Forwarded-For is appended to and its X-Forwarded-Proto kept")
    func trustedProxy() async throws {
        try await withProxy(arguments: ["--trusted-proxies", "127.0.0.0/8"]) { env in
            let connection = try RawConnection(port: env.porthole.httpPort)
            try connection.send(
                "GET /echo HTTP/1.1\r\nHost: \(env.host("pub"))\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n"
            )
            let response = await connection.readUntilClose()
            #expect(response.contains("[\"X-Forwarded-For\", \"203.0.113.9, 127.0.0.1\"]"), "\(response)")
            #expect(response.contains("[\"X-Forwarded-Proto\", \"https\"]"), "\(response)")
        }
    }

    @Test("host rewrite presents Host: localhost:<port> to dev servers that check it")
    func hostRewrite() async throws {
        try await withProxy(sandboxes: [SandboxSpec(id: "vite", flags: ["--public", "--host-rewrite"])]) { env in
            let response = try await env.curl.get(env.host("vite"), "/echo")
            let headers = try response.echoedHeaders()
            #expect(headers.first { $0.0.lowercased() == "host" }?.1 == "localhost:\(env.upstream.httpPort)")
        }
    }

    @Test("the token-for-cookie redirect stays on the preview's origin")
    func tokenExchangeRedirectStaysOnOrigin() async throws {
        try await withProxy { env in
            let token = try #require(env.tokens["priv"])
            for (target, expected) in [
                ("//evil.example/?preview_token=\(token)", "/evil.example/"),
                ("/%5Cevil.example/?preview_token=\(token)", "/%5Cevil.example/"),
            ] {
                let response = try await env.curl.get(env.host("priv"), target, arguments: ["-H", "Sec-Fetch-Mode: navigate", "--path-as-is"])
                #expect(response.status == 302, "\(target)")
                #expect(response.header("Location") == expected, "\(target)")
            }
            // A raw backslash (curl would not send it): the redirect still stays here.
            let connection = try RawConnection(port: env.porthole.httpPort)
            try connection.send(
                "GET /\\evil.example/?preview_token=\(token) HTTP/1.1\r\nHost: \(env.host("priv"))\r\nSec-Fetch-Mode: navigate\r\nConnection: close\r\n\r\n")
            let raw = await connection.readUntilClose()
            #expect(raw.hasPrefix("HTTP/1.1 302 "), "\(raw)")
            #expect(raw.contains("Location: /evil.example/\r\n"), "\(raw)")
        }
    }
}
