import PortholeTestSupport
import Foundation
import Testing

/// Bodies both ways, streamed responses, keep-alive, HTTP/1.0, pipelining and WebSocket tunnels.
@Suite("Streaming", .serialized)
struct StreamingTests {
    @Test("a 32 MiB download arrives intact")
    func largeDownload() async throws {
        try await withProxy { env in
            let size = 32 << 20
            let response = try await env.curl.get(env.host("pub"), "/big?bytes=\(size)")
            #expect(response.status == 200)
            #expect(response.body.count == size)
            let pattern = [UInt8](0...255)
            #expect(response.body.prefix(512).elementsEqual(pattern + pattern))
            #expect(response.body.suffix(1).first == UInt8((size - 1) % 256))
        }
    }

    @Test("uploads stream through with Content-Length and chunked framing", arguments: [false, true])
    func largeUpload(chunked: Bool) async throws {
        try await withProxy { env in
            let directory = try TestPaths.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let file = directory + "/upload"
            var generator = SystemRandomNumberGenerator()
            let size = 48 << 20
            var bytes = [UInt8](repeating: 0, count: size)
            for index in stride(from: 0, to: size, by: 8) {
                withUnsafeBytes(of: generator.next() as UInt64) { random in
                    for offset in 0..<min(8, size - index) { bytes[index + offset] = random[offset] }
                }
            }
            #expect(FileManager.default.createFile(atPath: file, contents: Data(bytes)))
            let digest = try await CommandResult.run(TestPaths.which("sha256sum"), [file]).stdout.prefix(64)
            var arguments = ["--data-binary", "@" + file, "-H", "Content-Type: application/octet-stream"]
            if chunked { arguments += ["-H", "Transfer-Encoding: chunked"] }
            let response = try await env.curl.get(env.host("pub"), "/echo", arguments: arguments)
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["bodyLength"] as? Int == size)
            #expect(json["bodySHA256"] as? String == String(digest))
            let headers = try response.echoedHeaders().map { $0.0.lowercased() }
            #expect(headers.contains(chunked ? "transfer-encoding" : "content-length"))
        }
    }

    @Test("Server-Sent Events reach the client before the stream ends")
    func serverSentEvents() async throws {
        try await withProxy { env in
            let host = env.host("pub")
            let stream = try ChildProcess(
                TestPaths.which("curl"),
                [
                    "-sSN", "--cacert", env.porthole.caFile, "--resolve", "\(host):\(env.porthole.httpsPort):127.0.0.1",
                    "https://\(host):\(env.porthole.httpsPort)/sse",
                ],
                name: "curl -N /sse"
            )
            defer { stream.stop() }
            // The upstream holds the stream open until released: the first event can only be seen
            // now if the proxy forwards it as it arrives.
            try await stream.waitFor("the first event", timeout: .seconds(10)) { stdout, _ in stdout.contains("data: first") }
            #expect(!stream.standardOutput.contains("data: second"))
            let release = try await CommandResult.run(TestPaths.which("curl"), ["-sS", "http://127.0.0.1:\(env.upstream.httpPort)/sse-release"])
            #expect(release.stdout == "released")
            #expect(try await stream.waitForExit(timeout: .seconds(10)) == 0)
            #expect(stream.standardOutput.contains("data: second"))
        }
    }

    @Test("chunked, close-delimited, HEAD and 204/304 responses are framed correctly")
    func responseFraming() async throws {
        try await withProxy { env in
            let host = env.host("pub")
            let chunked = try await env.curl.get(host, "/chunked?n=200")
            #expect(chunked.status == 200)
            #expect(chunked.text == (0..<200).map { "chunk-\($0)\n" }.joined())
            // HTTP/1.1 ends such a body by closing (HTTP/2 by END_STREAM, below).
            let untilClose = try await env.curl.get(host, "/close", arguments: ["--http1.1"])
            #expect(untilClose.text == "until-close body")
            #expect(untilClose.header("Connection") == "close")
            #expect(try await env.curl.get(host, "/close", arguments: ["--http2"]).text == "until-close body")
            let head = try await env.curl.get(host, "/big?bytes=1000", arguments: ["-I"])
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "1000")
            #expect(try await env.curl.get(host, "/status?code=204").status == 204)
            #expect(try await env.curl.get(host, "/status?code=304").status == 304)
        }
    }

    @Test("responses are gzipped for clients that ask, streamed, and decode in curl")
    func compression() async throws {
        try await withProxy { env in
            let host = env.host("pub")
            let expected = (0..<2000).map { "chunk-\($0)\n" }.joined()
            // A chunked body (text/plain), and one that ends with the upstream's close.
            let chunked = try await env.curl.get(host, "/chunked?n=2000", arguments: ["--compressed"])
            #expect(chunked.status == 200)
            #expect(chunked.header("Content-Encoding") == "gzip")
            #expect(chunked.header("Vary") == "Accept-Encoding")
            #expect(chunked.text == expected)
            let raw = try await env.curl.get(host, "/chunked?n=2000", arguments: ["-H", "Accept-Encoding: gzip"])
            #expect(raw.body.count < expected.utf8.count / 4, "\(raw.body.count) bytes on the wire for \(expected.utf8.count)")
            let untilClose = try await env.curl.get(host, "/close", arguments: ["--compressed"])
            #expect(untilClose.text == "until-close body")
            #expect(untilClose.header("Content-Encoding") == "gzip")
            // Without Accept-Encoding, and for an event stream, the body is the sandbox's own.
            let plain = try await env.curl.get(host, "/chunked?n=3")
            #expect(plain.header("Content-Encoding") == nil)
            #expect(plain.text == "chunk-0\nchunk-1\nchunk-2\n")
        }
    }

    @Test("keep-alive: many requests on one client connection reuse one upstream connection")
    func keepAlive() async throws {
        try await withProxy { env in
            let host = env.host("pub")
            let port = env.porthole.httpsPort
            let urls = (0..<20).map { _ in "https://\(host):\(port)/echo" }
            let result = try await CommandResult.run(
                TestPaths.which("curl"),
                ["-sS", "--cacert", env.porthole.caFile, "--resolve", "\(host):\(port):127.0.0.1", "-w", "\n%{num_connects}\n"] + urls
            )
            let lines = result.stdout.split(separator: "\n")
            let connects = lines.enumerated().filter { $0.offset % 2 == 1 }.map { Int($0.element) ?? -1 }
            #expect(connects.first == 1)
            #expect(connects.dropFirst().allSatisfy { $0 == 0 })
            let upstreamConnections = lines.enumerated().filter { $0.offset % 2 == 0 }.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.element.utf8)) as? [String: Any])?["connections"] as? Int
            }
            #expect(upstreamConnections.count == 20)
            #expect(Set(upstreamConnections).count == 1)
        }
    }

    @Test("HTTP/1.0 clients get a body they can read and a closed connection")
    func http10() async throws {
        try await withProxy { env in
            let response = try await env.curl.get(env.host("pub"), "/chunked?n=3", arguments: ["--http1.0"])
            #expect(response.status == 200)
            #expect(response.text == "chunk-0\nchunk-1\nchunk-2\n")
        }
    }

    @Test("an HTTP/1.0 upstream's answer reaches the client in the proxy's own HTTP/1.1 (RFC 9110 §6.2)")
    func http10Upstream() async throws {
        try await withProxy { env in
            // Python's own http.server speaks HTTP/1.0: a real HTTP/1.0 upstream.
            let directory = try TestPaths.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try "hello from 1.0\n".write(toFile: directory + "/file.txt", atomically: true, encoding: .utf8)
            let port = try TestPaths.freePort()
            let server = try ChildProcess(
                TestPaths.which("python3"), ["-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory, String(port)],
                name: "http.server"
            )
            defer { server.stop() }
            _ = try await server.waitFor("http.server") { stdout, stderr in (stdout + stderr).contains("Serving HTTP") }
            let response = try await env.curl.get(env.host("pub", port: port), "/file.txt", arguments: ["--http1.1"])
            #expect(response.status == 200)
            #expect(response.text == "hello from 1.0\n")
            #expect(response.headers.hasPrefix("HTTP/1.1 200"), "\(response.headers)")
        }
    }

    @Test("Expect: 100-continue is relayed", arguments: ["--http1.1", "--http2"])
    func expectContinue(version: String) async throws {
        try await withProxy { env in
            let response = try await env.curl.get(
                env.host("pub"), "/echo", arguments: [version, "-H", "Expect: 100-continue", "--data-binary", String(repeating: "x", count: 5000)]
            )
            #expect(response.status == 200)
            #expect(response.headers.contains(version == "--http2" ? "HTTP/2 100" : "HTTP/1.1 100 Continue"))
            #expect(try response.json()["bodyLength"] as? Int == 5000)
        }
    }

    @Test("pipelined requests are answered in order")
    func pipelining() async throws {
        try await withProxy { env in
            let connection = try RawConnection(port: env.porthole.httpPort)
            let host = env.host("pub")
            try connection.send(
                "GET /echo?n=1 HTTP/1.1\r\nHost: \(host)\r\n\r\n"
                    + "POST /echo?n=2 HTTP/1.1\r\nHost: \(host)\r\nContent-Length: 5\r\n\r\nhello"
                    + "GET /echo?n=3 HTTP/1.1\r\nHost: \(host)\r\n\r\n"
            )
            let responses = await connection.readResponses(3)
            #expect(responses.count == 3)
            for (index, response) in responses.enumerated() {
                #expect(response.hasPrefix("HTTP/1.1 200"))
                #expect(response.contains("\"target\": \"/echo?n=\(index + 1)\""))
            }
        }
    }

    @Test("a request that meets a dead keep-alive connection is retried on a fresh one")
    func retryOnStaleConnection() async throws {
        try await withProxy { env in
            let host = env.host("pub")
            for _ in 0..<5 {
                let closing = try await env.curl.get(host, "/keepalive-close")
                let next = try await env.curl.get(host, "/echo")
                #expect(closing.status == 200)
                #expect(next.status == 200)
            }
        }
    }

    @Test("WebSocket echo through the tunnel, small and large messages")
    func webSocket() async throws {
        try await withProxy { env in
            let host = env.host("pub", port: env.upstream.webSocketPort)
            let result = try await CommandResult.run(
                TestPaths.which("python3"),
                [
                    TestPaths.peers + "/websocket_client.py", "wss://\(host):\(env.porthole.httpsPort)/", env.porthole.caFile,
                    "127.0.0.1", String(env.porthole.httpsPort), "hello", "world", "@big:1048576",
                ]
            )
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "hello\nworld\nbig 1048576 True\n")
        }
    }

    @Test("a private WebSocket needs its token: 401 without, echo with the header")
    func privateWebSocket() async throws {
        try await withProxy { env in
            let host = env.host("priv", port: env.upstream.webSocketPort)
            let arguments = [
                TestPaths.peers + "/websocket_client.py", "wss://\(host):\(env.porthole.httpsPort)/", env.porthole.caFile,
                "127.0.0.1", String(env.porthole.httpsPort), "ping",
            ]
            let refused = try await CommandResult.run(TestPaths.which("python3"), arguments)
            #expect(refused.stdout == "status 401\n", "\(refused.stderr)")
            let token = env.tokens["priv"]!
            let process = try ChildProcess(TestPaths.which("python3"), arguments, environment: ["WS_HEADERS": "{\"X-Preview-Token\": \"\(token)\"}"])
            defer { process.stop() }
            #expect(try await process.waitForExit() == 0)
            #expect(process.standardOutput == "ping\n")
        }
    }

    @Test("a client that half-closes after its request still gets the answer")
    func halfClosedClientIsAnswered() async throws {
        try await withProxy { env in
            let connection = try RawConnection(port: env.porthole.httpPort)
            try connection.send("GET /echo HTTP/1.1\r\nHost: \(env.host("pub"))\r\n\r\n")
            connection.shutdownWrite()
            let answer = await connection.readUntilClose()
            #expect(answer.hasPrefix("HTTP/1.1 200 "), "\(answer)")
            #expect(answer.contains("\"method\": \"GET\""))

            // A body cut short by the half-close can never complete: 400, not a hang.
            let cut = try RawConnection(port: env.porthole.httpPort)
            try cut.send("POST /echo HTTP/1.1\r\nHost: \(env.host("pub"))\r\nContent-Length: 10\r\n\r\nabc")
            cut.shutdownWrite()
            #expect(await cut.readUntilClose().hasPrefix("HTTP/1.1 400 "))
        }
    }
}
