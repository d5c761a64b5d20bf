import PortholeTestSupport
import Foundation
import Testing

/// HTTP/2 towards clients, driven by a hostile client (Python's `h2` with its own checks off,
/// `Peers/h2_client.py`). Every other end-to-end test that uses curl over HTTPS runs over HTTP/2
/// too, since curl prefers it: these add what only HTTP/2 has.
@Suite("HTTP/2", .serialized)
struct HTTP2Tests {
    private func h2(_ env: ProxyEnvironment, _ scenario: String, _ argument: String? = nil, host: String? = nil, environment: [String: String] = [:])
        async throws -> [String: Any]
    {
        let arguments =
            [TestPaths.peers + "/h2_client.py", scenario, env.porthole.caFile, String(env.porthole.httpsPort), host ?? env.host("pub")]
            + (argument.map { [$0] } ?? [])
        let result = try await CommandResult.run(TestPaths.which("python3"), arguments, environment: environment, timeout: .seconds(90))
        #expect(result.status == 0, "\(result.stderr)")
        return try result.json()
    }

    private func echoedHeaders(_ response: [String: Any]) throws -> [String: String] {
        let body = try JSONSerialization.jsonObject(with: Data((response["body"] as? String ?? "").utf8)) as? [String: Any] ?? [:]
        let pairs = body["headers"] as? [[String]] ?? []
        return Dictionary(pairs.map { ($0[0].lowercased(), $0[1]) }, uniquingKeysWith: { $0 + "|" + $1 })
    }

    @Test("a stream is one HTTP/1.1 exchange upstream, with the same rules: token stripped, fields set, cookies joined")
    func streamFollowsTheSameRules() async throws {
        try await withProxy { env in
            let host = env.host("priv")
            let token = env.tokens["priv"]!
            let headers = "[[\"x-preview-token\", \"\(token)\"], [\"cookie\", \"a=1\"], [\"cookie\", \"b=2\"], [\"x-forwarded-for\", \"203.0.113.9\"]]"
            let response = try await h2(env, "request", "/echo?x=1", host: host, environment: ["H2_HEADERS": headers])
            #expect(response["status"] as? Int == 200, "\(response)")
            let echoed = try echoedHeaders(response)
            #expect(echoed["host"] == "\(host):\(env.porthole.httpsPort)")
            #expect(echoed["x-preview-token"] == nil, "the token never reaches the sandbox")
            #expect(echoed["cookie"] == "a=1; b=2")
            #expect(echoed["x-forwarded-for"] == "127.0.0.1")
            #expect(echoed["x-forwarded-proto"] == "https")

            let denied = try await h2(env, "request", "/echo", host: host)
            #expect(denied["status"] as? Int == 401)
            #expect((denied["body"] as? String ?? "").contains("preview token"), "\(denied)")
        }
    }

    @Test("a head over the HTTP/1.1 limit is 431 on a stream too; over 16 KiB before SETTINGS are acknowledged, the connection ends")
    func headTooLarge() async throws {
        try await withProxy { env in
            let big = "[[\"x-big\", \"\(String(repeating: "a", count: 40_000))\"]]"
            let response = try await h2(env, "request", "/echo", environment: ["H2_HEADERS": big, "H2_WAIT_FOR_SETTINGS": "1"])
            #expect(response["status"] as? Int == 431, "\(response)")
            // NIOHTTP2 applies Porthole's larger SETTINGS_MAX_HEADER_LIST_SIZE only once the client
            // acknowledged it; before, its default (16 KiB) holds and a larger block is a connection error.
            let early = try await CommandResult.run(
                TestPaths.which("curl"),
                [
                    "-sS", "--http2", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", env.porthole.caFile, "--resolve",
                    "\(env.host("pub")):\(env.porthole.httpsPort):127.0.0.1", "-H", "X-Big: " + String(repeating: "a", count: 40_000),
                    "https://\(env.host("pub")):\(env.porthole.httpsPort)/echo",
                ])
            #expect(early.stderr.contains("GOAWAY") || early.stderr.contains("not closed cleanly"), "\(early.stderr)")
        }
    }

    @Test("a WebSocket over HTTP/2 (RFC 8441) reaches the sandbox as an HTTP/1.1 upgrade, with the same access rules")
    func webSocket() async throws {
        try await withProxy { env in
            let messages = ["H2_MESSAGES": "[\"hello\", \"\(String(repeating: "x", count: 300))\"]"]
            let open = try await h2(env, "websocket", "/", host: env.host("pub", port: env.upstream.webSocketPort), environment: messages)
            #expect(open["status"] as? Int == 200, "\(open)")
            #expect(open["echoes"] as? [String] == ["hello", String(repeating: "x", count: 300)], "\(open)")
            let headerNames = (open["headers"] as? [[String]] ?? []).map { $0[0] }
            #expect(!headerNames.contains("sec-websocket-accept") && !headerNames.contains("upgrade"), "\(headerNames)")
            #expect(open["ended"] as? Bool == true, "the sandbox's close ends the stream: \(open)")

            let privateHost = env.host("priv", port: env.upstream.webSocketPort)
            let refused = try await h2(env, "websocket", "/", host: privateHost, environment: messages)
            #expect(refused["status"] as? Int == 401, "\(refused)")
            let token = "[[\"x-preview-token\", \"\(env.tokens["priv"]!)\"]]"
            let allowed = try await h2(env, "websocket", "/", host: privateHost, environment: messages.merging(["H2_HEADERS": token]) { $1 })
            #expect(allowed["echoes"] as? [String] == ["hello", String(repeating: "x", count: 300)], "\(allowed)")

            // A sandbox port that answers 200 instead of switching protocols is no WebSocket.
            let notASocket = try await h2(env, "websocket", "/echo", environment: messages)
            #expect(notASocket["status"] is NSNull, "\(notASocket)")
        }
    }

    @Test("a body without a length streams upstream chunked")
    func bodyWithoutLength() async throws {
        try await withProxy { env in
            let body = String(repeating: "0123456789", count: 10_000)
            let response = try await h2(env, "request", "/echo", environment: ["H2_BODY": body])
            #expect(response["status"] as? Int == 200, "\(response)")
            let echo = try JSONSerialization.jsonObject(with: Data((response["body"] as? String ?? "").utf8)) as? [String: Any] ?? [:]
            #expect(echo["bodyLength"] as? Int == body.utf8.count)
            #expect(try echoedHeaders(response)["transfer-encoding"] == "chunked")
        }
    }

    @Test("malformed header blocks get a 400 that says why or RST_STREAM, and never reach the sandbox")
    func malformedHeaderBlocks() async throws {
        try await withProxy { env in
            let authority = "\(env.host("pub")):\(env.porthole.httpsPort)"
            func block(_ path: String, authority: String? = authority, method: String = "GET", _ extra: [[String]] = []) -> [[String]] {
                [[":method", method], [":scheme", "https"]] + (authority.map { [[":authority", $0]] } ?? []) + [[":path", path]] + extra
            }
            let blocks: [[[String]]] = [
                block("/m-host", [["host", "other.example"]]),
                block("/m-noauthority", authority: nil),
                block("/m-crlf", [["x-a", "b\r\nx-injected: 1"]]),
                block("/m-connection", [["connection", "keep-alive"]]),
                block("/m-upper", [["X-Upper", "1"]]),
                block("/m-te", [["te", "gzip"]]),
                [[":method", "CONNECT"], [":authority", authority]],
            ]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: blocks), as: UTF8.self)
            let result = try await h2(env, "malformed", environment: ["H2_BLOCKS": json])
            let outcomes = result["outcomes"] as? [[String: Any]] ?? []
            #expect(outcomes.count == blocks.count, "\(result)")
            let expected: [(status: Int?, reason: String?)] = [
                (400, "different hosts"), (400, "names no host"), (nil, nil), (nil, nil), (nil, nil), (nil, nil), (400, "CONNECT"),
            ]
            for (outcome, expectation) in zip(outcomes, expected) {
                if let status = expectation.status {
                    #expect(outcome["status"] as? Int == status, "\(outcome)")
                    #expect((outcome["body"] as? String ?? "").contains(expectation.reason!), "\(outcome)")
                } else {
                    #expect(outcome["reset"] as? Int == 1, "PROTOCOL_ERROR: \(outcome)")
                }
            }
            #expect(result["goaway"] is NSNull, "a malformed stream does not end the connection: \(result)")
            for path in ["/m-host", "/m-noauthority", "/m-crlf", "/m-connection", "/m-upper", "/m-te"] {
                let seen = try await CommandResult.run(
                    TestPaths.which("curl"), ["-sS", "http://127.0.0.1:\(env.upstream.httpPort)/seen?path=\(path)"]
                )
                #expect(seen.stdout.contains("\"count\": 0"), "\(path): \(seen.stdout)")
            }
        }
    }

    @Test(
        "floods end the abuser's connection with GOAWAY ENHANCE_YOUR_CALM, and others are still served",
        arguments: ["rapid-reset 2000", "continuation-flood 20000", "ping-flood 20000", "settings-flood 5000"]
    )
    func floods(scenario: String) async throws {
        try await withProxy { env in
            let parts = scenario.split(separator: " ").map(String.init)
            let result = try await h2(env, parts[0], parts[1])
            #expect(result["goaway"] as? Int == 11, "\(result)")
            #expect(result["fresh"] as? Int == 200, "\(result)")
        }
    }

    @Test("an HPACK table larger than SETTINGS_HEADER_TABLE_SIZE is a COMPRESSION_ERROR for that connection only")
    func hpackTableSize() async throws {
        try await withProxy { env in
            let result = try await h2(env, "hpack-table", "65536")
            #expect(result["goaway"] as? Int == 9, "COMPRESSION_ERROR: \(result)")
            #expect(result["fresh"] as? Int == 200, "\(result)")
        }
    }

    @Test("100 streams at once are served; a client that opens more is refused")
    func concurrentStreams() async throws {
        try await withProxy { env in
            let hundred = try await h2(env, "concurrent", "100", environment: ["H2_PATH": "/echo"])
            let statuses = hundred["statuses"] as? [Any] ?? []
            #expect(statuses.count == 100 && statuses.allSatisfy { $0 as? Int == 200 }, "\(hundred)")

            let tooMany = try await h2(env, "concurrent", "150", environment: ["H2_PATH": "/echo"])
            let refusedStreams = (tooMany["resets"] as? [Any] ?? []).filter { $0 as? Int == 7 }.count
            #expect(refusedStreams > 0 || tooMany["goaway"] as? Int == 1, "REFUSED_STREAM or PROTOCOL_ERROR: \(tooMany)")
        }
    }

    @Test("an idle HTTP/2 connection is closed with GOAWAY after the keep-alive timeout, streams or none")
    func idleConnection() async throws {
        try await withProxy(arguments: ["--keep-alive-timeout", "1"]) { env in
            let result = try await h2(env, "idle")
            #expect(result["status"] as? Int == 200)
            #expect(result["goaway"] as? Int == 0, "NO_ERROR: \(result)")
            #expect(result["closed"] as? Bool == true)
            #expect((result["seconds"] as? Double ?? 99) < 10, "\(result)")
            // A connection that never opens a stream is idle from its start.
            let silent = try await h2(env, "idle", "no-streams")
            #expect(silent["goaway"] as? Int == 0, "NO_ERROR: \(silent)")
            #expect((silent["seconds"] as? Double ?? 99) < 10, "\(silent)")
        }
    }

    @Test("a client whose window stays shut is cut off after --send-timeout, whether the answer is large or small")
    func zeroWindow() async throws {
        try await withProxy(arguments: ["--send-timeout", "1"]) { env in
            for path in ["/big?bytes=1000000", "/big?bytes=1000"] {
                let result = try await h2(env, "stall", path)
                #expect(result["status"] as? Int == 200, "\(path): \(result)")
                #expect(result["bodyBytes"] as? Int == 0, "\(path): \(result)")
                #expect(result["reset"] as? Int == 8, "CANCEL: \(path): \(result)")
                #expect((result["seconds"] as? Double ?? 99) < 10, "\(path): \(result)")
            }
        }
    }

    @Test("--http2 off: ALPN offers HTTP/1.1 only")
    func turnedOff() async throws {
        try await withProxy(arguments: ["--http2", "off"]) { env in
            let response = try await env.curl.get(env.host("pub"), "/echo", arguments: ["--http2"])
            #expect(response.status == 200)
            #expect(response.headers.hasPrefix("HTTP/1.1 200"), "\(response.headers)")
        }
        try await withProxy { env in
            let response = try await env.curl.get(env.host("pub"), "/echo")
            #expect(response.headers.hasPrefix("HTTP/2 200"), "\(response.headers)")
        }
    }
}
