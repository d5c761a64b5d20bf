import Testing

/// Request smuggling and malformed framing, sent as raw bytes to the plain-HTTP listener: every
/// ambiguous message is refused with a 4xx/5xx and the connection closed, so no byte of it can be
/// read as a second request by the sandbox.
@Suite("Smuggling", .serialized)
struct SmugglingTests {
    static let cases: [(String, String, String)] = [
        ("CL and TE together", "POST /echo HTTP/1.1\r\nHost: {h}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", "400"),
        ("two different Content-Lengths", "POST /echo HTTP/1.1\r\nHost: {h}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "400"),
        ("Content-Length with a sign", "POST /echo HTTP/1.1\r\nHost: {h}\r\nContent-Length: +5\r\n\r\nhello", "400"),
        ("Content-Length list", "POST /echo HTTP/1.1\r\nHost: {h}\r\nContent-Length: 5, 5\r\n\r\nhello", "400"),
        ("TE not ending in chunked", "POST /echo HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: chunked, identity\r\n\r\n", "501"),
        ("xchunked", "POST /echo HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: xchunked\r\n\r\n", "501"),
        ("space before colon", "POST /echo HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding : chunked\r\n\r\n", "400"),
        ("two TE lines", "POST /echo HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "501"),
        ("invalid chunk size", "POST /echo HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", "400"),
        ("chunk size overflow", "POST /echo HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\nx\r\n0\r\n\r\n", "400"),
        ("bare LF line ends", "GET /echo HTTP/1.1\nHost: {h}\n\n", "400"),
        ("obsolete line folding", "GET /echo HTTP/1.1\r\nHost: {h}\r\nX-A: 1\r\n  folded\r\n\r\n", "400"),
        ("NUL in a header value", "GET /echo HTTP/1.1\r\nHost: {h}\r\nX-A: a\u{0}b\r\n\r\n", "400"),
        ("two Host headers", "GET /echo HTTP/1.1\r\nHost: {h}\r\nHost: other.example\r\n\r\n", "400"),
        ("missing Host", "GET /echo HTTP/1.1\r\nX-A: 1\r\n\r\n", "400"),
        ("TE in HTTP/1.0", "POST /echo HTTP/1.0\r\nHost: {h}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"),
        ("HTTP/2 preface as HTTP/1", "GET /echo HTTP/2.0\r\nHost: {h}\r\n\r\n", "505"),
        ("CONNECT", "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: {h}\r\n\r\n", "501"),
        ("TRACE", "TRACE /echo HTTP/1.1\r\nHost: {h}\r\n\r\n", "501"),
        ("authority-form without CONNECT", "GET 127.0.0.1:22 HTTP/1.1\r\nHost: {h}\r\n\r\n", "400"),
        ("absolute-form naming another host", "GET http://other.example/echo HTTP/1.1\r\nHost: {h}\r\n\r\n", "400"),
        ("asterisk-form with GET", "GET * HTTP/1.1\r\nHost: {h}\r\n\r\n", "400"),
    ]

    @Test("an absolute-form target naming the Host is forwarded in origin-form")
    func absoluteForm() async throws {
        try await withProxy { env in
            let connection = try RawConnection(port: env.porthole.httpPort)
            try connection.send("GET http://\(env.host("pub"))/echo?x=1 HTTP/1.1\r\nHost: \(env.host("pub"))\r\nConnection: close\r\n\r\n")
            let response = await connection.readUntilClose()
            #expect(response.hasPrefix("HTTP/1.1 200 "), "\(response)")
            #expect(response.contains(#""target": "/echo?x=1""#), "\(response)")
        }
    }

    @Test("redirect mode copies only a valid Host into Location")
    func redirectHost() async throws {
        try await withProxy(arguments: ["--http-mode", "redirect"]) { env in
            for host in ["evil.example/x?", "a@evil.example", "evil.example\\x", "[::1", "host:99999"] {
                let connection = try RawConnection(port: env.porthole.httpPort)
                try connection.send("GET /path HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
                let response = await connection.readUntilClose()
                #expect(response.hasPrefix("HTTP/1.1 400 "), "\(host): \(response)")
                #expect(!response.contains("Location:"))
            }
            let good = try RawConnection(port: env.porthole.httpPort)
            try good.send("GET /path?q=1 HTTP/1.1\r\nHost: \(env.host("pub")):8080\r\nConnection: close\r\n\r\n")
            let response = await good.readUntilClose()
            #expect(response.hasPrefix("HTTP/1.1 308 "))
            #expect(response.contains("Location: https://\(env.host("pub")):\(env.porthole.httpsPort)/path?q=1\r\n"))
        }
    }

    @Test("a response head over 64 KiB is refused even when it arrives in one read")
    func oversizedResponseHead() async throws {
        try await withProxy { env in
            let response = try await env.curl.get(env.host("pub"), "/bighead?bytes=70000")
            #expect(response.status == 502)
            #expect(try await env.curl.get(env.host("pub"), "/bighead?bytes=1000").status == 200)
        }
    }

    @Test("ambiguous or malformed requests are refused and the connection closed", arguments: 0..<cases.count)
    func refused(index: Int) async throws {
        let (name, template, status) = Self.cases[index]
        try await withProxy { env in
            let connection = try RawConnection(port: env.porthole.httpPort)
            try connection.send(template.replacingOccurrences(of: "{h}", with: env.host("pub")))
            let response = await connection.readUntilClose()
            #expect(response.hasPrefix("HTTP/1.1 \(status) "), "\(name): \(response)")
            #expect(!response.contains("\"method\""), "\(name): the request reached the upstream")
        }
    }
}
