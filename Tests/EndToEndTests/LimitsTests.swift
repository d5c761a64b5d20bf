import PortholeTestSupport
import Foundation
import Testing

/// `--max-connections` and `--max-connections-per-sandbox` hold exactly across event loops: the
/// proxy runs two threads here, and connections land on both.
@Suite("Limits", .serialized)
struct LimitsTests {
    @Test("the per-sandbox cap is exact with two threads: 429 only once the cap is really reached")
    func perSandboxCap() async throws {
        try await withProxy(arguments: ["--max-connections-per-sandbox", "3"]) { env in
            // Two requests in flight (the upstream holds /slow for 30 s), on different connections
            // and so, round robin, on different loops. An equal share per loop (3 / 2 = 1) would
            // already refuse the third.
            var held: [RawConnection] = []
            for _ in 0..<2 {
                let connection = try RawConnection(port: env.porthole.httpPort)
                try connection.send("GET /slow HTTP/1.1\r\nHost: \(env.host("pub"))\r\n\r\n")
                held.append(connection)
            }
            #expect(try await eventually { try await Self.slowRequestsWaiting(env, askingThrough: "priv") == 2 })
            #expect(try await env.curl.get(env.host("pub"), "/echo").status == 200)

            held.append(try RawConnection(port: env.porthole.httpPort))
            try held[2].send("GET /slow HTTP/1.1\r\nHost: \(env.host("pub"))\r\n\r\n")
            #expect(try await eventually { try await env.curl.get(env.host("pub"), "/echo").status == 429 })
            let refused = try await env.curl.get(env.host("pub"), "/echo")
            #expect(try refused.json()["code"] as? String == "too_many_connections")
            #expect(try refused.json()["message"] as? String == "sandbox pub has too many open connections through this proxy; retry shortly")

            // Another sandbox is not affected, and a place freed is a place taken again.
            let other = try await env.curl.get(env.host("priv"), "/echo", arguments: ["-H", "X-Preview-Token: \(env.tokens["priv"]!)"])
            #expect(other.status == 200)
            // The client is killed mid-request (RST): its place is given back at once. (A FIN is a
            // half-close: that client is still answered, and its place is freed with the answer.)
            held[2].resetOnClose()
            held.removeLast()
            #expect(try await eventually { try await env.curl.get(env.host("pub"), "/echo").status == 200 })
        }
    }

    @Test("a client that reads nothing is cut off after --send-timeout, and its sandbox connection with it")
    func sendTimeout() async throws {
        try await withProxy(arguments: ["--send-timeout", "1"]) { env in
            let connection = try RawConnection(port: env.porthole.httpPort, receiveBuffer: 4096)
            let size = 64 << 20
            try connection.send("GET /big?bytes=\(size) HTTP/1.1\r\nHost: \(env.host("pub")):\(env.porthole.httpPort)\r\n\r\n")
            // However fast the sandbox writes, the proxy's buffers fill and stay full: it gives up.
            let cut = try await eventually(timeout: .seconds(90)) {
                let metrics = try await CommandResult.run(TestPaths.which("curl"), ["-sS", "http://127.0.0.1:\(env.porthole.adminPort)/metrics"])
                return (PrometheusText.value(of: "porthole_client_send_timeouts_total", in: metrics.stdout) ?? 0) == 1
            }
            #expect(cut, "porthole_client_send_timeouts_total never moved")
            let received = await connection.readUntilClose()
            #expect(received.utf8.count < size / 2, "cut off with what the socket buffers held, not the whole body")
            // HTTP/2: HTTP2Tests.zeroWindow.
        }
    }

    @Test("requests that are not allowed in neither take a sandbox's place nor learn that it is busy")
    func capCountsOnlyAllowedRequests() async throws {
        try await withProxy(arguments: ["--max-connections-per-sandbox", "1"]) { env in
            let token = env.tokens["priv"]!
            let held = try RawConnection(port: env.porthole.httpPort)
            try held.send("GET /slow HTTP/1.1\r\nHost: \(env.host("priv"))\r\nX-Preview-Token: \(token)\r\n\r\n")
            #expect(try await eventually { try await Self.slowRequestsWaiting(env, askingThrough: "pub") == 1 })

            #expect(try await env.curl.get(env.host("priv"), "/echo").status == 401)
            #expect(try await env.curl.get(env.host("priv"), "/echo", arguments: ["-H", "X-Preview-Token: wrong"]).status == 403)
            #expect(try await env.curl.get(env.host("priv"), "/echo", arguments: ["-H", "X-Preview-Token: \(token)"]).status == 429)
            _ = held
        }
    }

    @Test("the connection cap is exact with two threads: the connection past it is closed at once")
    func connectionCap() async throws {
        try await withProxy(arguments: ["--max-connections", "3"]) { env in
            var open: [RawConnection] = []
            for _ in 0..<3 {
                let connection = try RawConnection(port: env.porthole.httpPort)
                try connection.send("GET /echo HTTP/1.1\r\nHost: \(env.host("pub"))\r\n\r\n")
                #expect(await connection.readResponses(1).first?.hasPrefix("HTTP/1.1 200 ") == true)
                open.append(connection)
            }
            let refused = try RawConnection(port: env.porthole.httpPort)
            #expect(await refused.isClosedByPeer())

            open.removeFirst()
            #expect(
                try await eventually {
                    let connection = try RawConnection(port: env.porthole.httpPort)
                    try connection.send("GET /echo HTTP/1.1\r\nHost: \(env.host("pub"))\r\n\r\n")
                    return await connection.readResponses(1).first?.hasPrefix("HTTP/1.1 200 ") == true
                })
        }
    }

    /// How many `/slow` requests the upstream holds right now, asked through the proxy by way of a
    /// sandbox the test is not filling up.
    private static func slowRequestsWaiting(_ env: ProxyEnvironment, askingThrough sandbox: String) async throws -> Int {
        let arguments = env.tokens[sandbox].map { ["-H", "X-Preview-Token: \($0)"] } ?? []
        let response = try await env.curl.get(env.host(sandbox), "/slow-count", arguments: arguments)
        return try response.json()["waiting"] as? Int ?? -1
    }
}
