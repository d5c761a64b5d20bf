import PortholeTestSupport
import Foundation
import Testing

/// Every error the proxy answers itself: a status, a code and a message a person can act on.
@Suite("Errors", .serialized)
struct ErrorTests {
    @Test(
        "bad compression and framing settings stop the start with a message that names them",
        arguments: [
            (["--compression", "yes"], "compression must be on or off, got \"yes\""),
            (["--compression-level", "0"], "compression-level"),
            (["--compression-types", "text"], "compression type \"text\" is not a media type pattern"),
            (["--compression-types", "text/*,,application/json"], "has an empty entry"),
            (["--frame-ancestors", "self"], "frame-ancestors source \"self\" is not 'self' or 'none' (with their quotes)"),
        ] as [([String], String)]
    )
    func badCompressionSettings(_ arguments: [String], _ message: String) async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await CommandResult.run(
            TestPaths.portholeBinary, ["serve", "--data-dir", directory + "/data", "--cert-dir", directory + "/certs"] + arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test(
        "hosts that are not <port>-<sandboxId>.<base domain> get 400 naming the expected form",
        arguments: [
            "preview.localhost", "abc.preview.localhost", "0-abc.preview.localhost", "99999-abc.preview.localhost",
            "3000-abc.other.localhost", "3000-a.b.preview.localhost", "03000-abc.preview.localhost",
        ])
    func badHost(host: String) async throws {
        try await withProxy { env in
            let connection = try RawConnection(port: env.porthole.httpPort)
            try connection.send("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            let response = await connection.readResponses(1).first ?? ""
            #expect(response.hasPrefix("HTTP/1.1 400 "))
            #expect(response.contains("\"code\":\"bad_host\""))
            #expect(response.contains("<port>-<sandboxId>.preview.localhost"))
        }
    }

    @Test("one keep-alive connection may name a different sandbox, port or a bad host with every request")
    func hostChangesOnOneConnection() async throws {
        try await withProxy(sandboxes: [SandboxSpec(id: "pub", flags: ["--public"]), SandboxSpec(id: "other", flags: ["--public"])]) { env in
            let connection = try RawConnection(port: env.porthole.httpPort)
            let hosts = [
                env.host("pub"), env.host("pub", port: 1), "nohyphen.preview.localhost", env.host("nosuch"),
                env.host("other", port: 1), env.host("pub"),
            ]
            var responses: [String] = []
            for host in hosts {
                try connection.send("GET /echo HTTP/1.1\r\nHost: \(host)\r\n\r\n")
                responses += await connection.readResponses(1)
            }
            try #require(responses.count == hosts.count, "\(responses)")
            // The sandbox sees the host it was asked for.
            #expect(responses[0].hasPrefix("HTTP/1.1 200 ") && responses[0].contains("[\"X-Forwarded-Host\", \"\(hosts[0])\"]"))
            #expect(responses[1].contains("nothing is listening on port 1 of sandbox pub"))
            #expect(responses[2].hasPrefix("HTTP/1.1 400 ") && responses[2].contains("\"code\":\"bad_host\""))
            #expect(responses[3].hasPrefix("HTTP/1.1 404 ") && responses[3].contains("nosuch"))
            #expect(responses[4].contains("nothing is listening on port 1 of sandbox other"))
            #expect(responses[5].hasPrefix("HTTP/1.1 200 ") && responses[5].contains("[\"X-Forwarded-Host\", \"\(hosts[5])\"]"))
        }
    }

    @Test("an unknown sandbox is 404, a stopped one 503 with Retry-After")
    func unknownAndStopped() async throws {
        try await withProxy { env in
            let missing = try await env.curl.get(env.host("nosuch"), "/")
            #expect(missing.status == 404)
            #expect(try missing.json()["code"] as? String == "sandbox_not_found")

            #expect(try await env.porthole.cli(["set-state", "pub", "stopped"]).status == 0)
            #expect(try await eventually { try await env.curl.get(env.host("pub"), "/").status == 503 })
            let stopped = try await env.curl.get(env.host("pub"), "/")
            #expect(stopped.header("Retry-After") != nil)
            #expect(try stopped.json()["code"] as? String == "sandbox_stopped")
        }
    }

    @Test("nothing listening on the port is a 502 that says so")
    func nothingListening() async throws {
        try await withProxy { env in
            let response = try await env.curl.get(env.host("pub", port: 1), "/")
            #expect(response.status == 502)
            #expect(try response.json()["message"] as? String == "nothing is listening on port 1 of sandbox pub")
            let page = try await env.curl.get(env.host("pub", port: 1), "/", arguments: ["-H", "Accept: text/html"])
            #expect(page.text.contains("nothing is listening on port 1 of sandbox pub"))
        }
    }

    @Test("an upstream that does not answer in time is a 504")
    func upstreamTimeout() async throws {
        try await withProxy(arguments: ["--upstream-response-timeout", "1"]) { env in
            let response = try await env.curl.get(env.host("pub"), "/slow")
            #expect(response.status == 504)
            #expect(!response.body.isEmpty)
        }
    }

    @Test("a request head over the limit is 431")
    func headTooLarge() async throws {
        try await withProxy { env in
            // HTTP/2: HTTP2Tests.headTooLarge.
            let response = try await env.curl.get(
                env.host("pub"), "/", arguments: ["--http1.1", "-H", "X-Big: " + String(repeating: "a", count: 40_000)])
            #expect(response.status == 431)
        }
    }

    @Test("plain HTTP redirects to HTTPS with 308 by default")
    func redirectToHTTPS() async throws {
        try await withProxy(arguments: ["--http-mode", "redirect"]) { env in
            let connection = try RawConnection(port: env.porthole.httpPort)
            try connection.send("GET /a?b=1 HTTP/1.1\r\nHost: \(env.host("pub")):\(env.porthole.httpPort)\r\n\r\n")
            let response = await connection.readResponses(1).first ?? ""
            #expect(response.hasPrefix("HTTP/1.1 308 "))
            #expect(response.contains("Location: https://\(env.host("pub")):\(env.porthole.httpsPort)/a?b=1\r\n"))
        }
    }

    @Test("a TLS 1.1 client is refused; TLS 1.2 and 1.3 are accepted", arguments: ["-tls1_1", "-tls1_2", "-tls1_3"])
    func tlsVersions(flag: String) async throws {
        try await withProxy { env in
            let result = try await CommandResult.run(
                "/bin/sh",
                [
                    "-c",
                    "printf 'GET /echo HTTP/1.1\\r\\nHost: \(env.host("pub"))\\r\\nConnection: close\\r\\n\\r\\n' | openssl s_client -quiet -connect 127.0.0.1:\(env.porthole.httpsPort) -servername \(env.host("pub")) \(flag) -CAfile \(env.porthole.caFile) 2>&1",
                ]
            )
            if flag == "-tls1_1" {
                #expect(!result.stdout.contains("HTTP/1.1 200"))
            } else {
                #expect(result.stdout.contains("HTTP/1.1 200"), "\(result.stdout)")
            }
        }
    }

    @Test("targets: never the metadata address, never Porthole's own listeners, only the allowed ranges")
    func upstreamTargets() async throws {
        let sandboxes = [SandboxSpec(id: "pub", flags: ["--public"]), SandboxSpec(id: "meta", flags: ["--public"], target: "169.254.169.254")]
        try await withProxy(sandboxes: sandboxes) { env in
            // The cloud metadata address is never connected to, whatever the ranges say.
            let metadata = try await env.curl.get(env.host("meta", port: 80), "/latest/meta-data/")
            #expect(metadata.status == 502)
            #expect(try metadata.json()["code"] as? String == "target_not_allowed")

            // The admin listener through a preview of a loopback sandbox: refused before a byte is sent.
            let admin = try await env.curl.get(env.host("pub", port: env.porthole.adminPort), "/metrics")
            #expect(admin.status == 502)
            #expect(try admin.json()["code"] as? String == "target_not_allowed")
            #expect(!admin.text.contains("porthole_"))
            // Its own plain listener: no loop, one answer.
            let own = try await env.curl.get(env.host("pub", port: env.porthole.httpPort), "/echo", https: false)
            #expect(own.status == 502)
            #expect(!own.text.contains("127.0.0.1"), "the client is not told internal addresses")
            try await env.porthole.process.waitFor("the operator's log line") { _, stderr in
                stderr.contains("refused to connect to a sandbox target") && stderr.contains("own listeners")
            }
            // The sandbox's real port still works.
            #expect(try await env.curl.get(env.host("pub"), "/echo").status == 200)
        }
        // Ranges that leave loopback out refuse a loopback sandbox.
        try await withProxy(sandboxes: [SandboxSpec(id: "pub", flags: ["--public"])], arguments: ["--allow-target", "10.88.0.0/16"]) { env in
            let refused = try await env.curl.get(env.host("pub"), "/echo")
            #expect(refused.status == 502)
            #expect(try await env.upstream.requestCount(path: "/echo") == 0)
        }
    }

    @Test("a request carrying this instance's Via pseudonym is a loop: 508, never forwarded again")
    func loopDetected() async throws {
        try await withProxy { env in
            let echoed = try await env.curl.get(env.host("pub"), "/echo")
            let via = try #require(try echoed.echoedHeaders().first { $0.0.lowercased() == "via" }?.1)
            #expect(via.hasPrefix("1.1 porthole-"))
            let before = try await env.upstream.requestCount(path: "/echo")
            let looped = try await env.curl.get(env.host("pub"), "/echo", arguments: ["-H", "Via: 1.1 lb, \(via)"])
            #expect(looped.status == 508)
            #expect(try looped.json()["code"] as? String == "loop_detected")
            #expect(try await env.upstream.requestCount(path: "/echo") == before)
            // Another proxy's Via is passed on, with this one's added.
            let other = try await env.curl.get(env.host("pub"), "/echo", arguments: ["-H", "Via: 1.1 edge"])
            let vias = try other.echoedHeaders().filter { $0.0.lowercased() == "via" }.map(\.1)
            #expect(vias == ["1.1 edge", via])
        }
    }
}
