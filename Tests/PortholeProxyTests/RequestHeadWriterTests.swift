@_spi(Benchmarks) @testable import PortholeProxy
import PortholeCore
import Testing

/// The head the sandbox sees: hop-by-hop fields, Porthole's credentials and spoofable forwarding
/// fields gone, forwarding fields set, and framing exactly as the proxy itself read it.
@Suite struct RequestHeadWriterTests {
    private static let forwardingLines = [
        "X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https",
    ]

    /// The output's lines, without the final empty line.
    private static func lines(_ head: String) -> [String] {
        var lines = head.components(separatedBy: "\r\n")
        #expect(lines.suffix(2) == ["", ""], "head must end in CRLFCRLF")
        lines.removeLast(2)
        return lines
    }

    @Test func forwardsAPlainRequestWithForwardingFields() throws {
        let output = try Wire.forward(wireHead("GET /a?b HTTP/1.1", "Host: 3000-abc.preview.example", "Accept: */*"))
        #expect(
            output
                == wireHead(
                    "GET /a?b HTTP/1.1",
                    "Host: 3000-abc.preview.example",
                    "Accept: */*",
                    "X-Forwarded-For: 203.0.113.7",
                    "X-Forwarded-Proto: https",
                    "X-Forwarded-Host: 3000-abc.preview.example",
                    "X-Forwarded-Port: 443"
                ))
    }

    @Test(arguments: [false, true])
    func stripsHopByHopCredentialAndSpoofableFields(_ lowercase: Bool) throws {
        var lines = [
            "Connection: keep-alive, X-Hop", "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive", "TE: trailers",
            "X-Preview-Token: secret-one", "X-Daytona-Preview-Token: secret-two", "X-Forwarded-Proto: http",
            "X-Forwarded-Host: evil.example", "X-Forwarded-Port: 1", "X-Hop: 1", "Content-Length: 3", "X-Keep: yes",
        ]
        if lowercase { lines = lines.map { $0.lowercased() } }
        let input = (["POST /submit HTTP/1.1", "Host: h"] + lines).map { $0 + "\r\n" }.joined() + "\r\n"
        let output = try Wire.forward(input)
        let keep = lowercase ? ["content-length: 3", "x-keep: yes"] : ["Content-Length: 3", "X-Keep: yes"]
        #expect(
            output
                == (["POST /submit HTTP/1.1", "Host: h"] + keep + Self.forwardingLines + [
                    "X-Forwarded-Host: h", "X-Forwarded-Port: 443",
                ]).map { $0 + "\r\n" }.joined() + "\r\n")
        #expect(!output.contains("secret"))
        #expect(!output.contains("evil"))
    }

    @Test func keepsEverythingElseByteForByte() throws {
        let fields = [
            "Accept: text/html, */*;q=0.8", "User-Agent: Mozilla/5.0 (X11; Linux x86_64)", "Authorization: Bearer abc",
            "Content-Type: application/json", "Transfer-Encoding: gzip,  chunked", "Expect: 100-continue",
            "Sec-Fetch-Mode: navigate", "Access-Control-Request-Method: PUT", "X-Empty:", "X-Odd:   spaced  value  ",
        ]
        let output = try Wire.forward((["PUT /x HTTP/1.1", "Host: h"] + fields).map { $0 + "\r\n" }.joined() + "\r\n")
        let lines = Self.lines(output)
        // Kept lines are copied as they came, whitespace included: OWS around a value is not part
        // of it (RFC 9110 §5.5), and every recipient trims it.
        #expect(Array(lines[2..<12]) == fields)
    }

    // MARK: - Cookies

    @Test(
        arguments: [
            (["a=1; porthole_session=x; b=2"], ["a=1; b=2"]),
            (["porthole_session=x"], []),
            (["porthole_session=x; porthole_session=y"], []),
            (["porthole_session=x;   a=\"q q\""], ["a=\"q q\""]),
            (["a=1;porthole_session=x;b=2 ;  c=3"], ["a=1;b=2 ;  c=3"]),
            (["a=1;  b=2"], ["a=1;  b=2"]),
            (["xporthole_session=1;porthole_session_x=2"], ["xporthole_session=1;porthole_session_x=2"]),
            (["a=1", "porthole_session=x", "b=2"], ["a=1", "b=2"]),
            (["porthole_session=x", "porthole_session=y"], []),
            (["Porthole_Session=keep"], ["Porthole_Session=keep"]),  // cookie names are case-sensitive
            // The current name, and both names at once (a browser that still holds the legacy one).
            (["a=1; __Host-porthole_session=x; b=2"], ["a=1; b=2"]),
            (["__Host-porthole_session=x; porthole_session=y; c=3"], ["c=3"]),
            (["__host-porthole_session=keep"], ["__host-porthole_session=keep"]),
            (["__Host-porthole_sessions=keep"], ["__Host-porthole_sessions=keep"]),
        ] as [([String], [String])])
    func stripsOnlyPortholesSessionCookie(_ cookies: [String], _ forwarded: [String]) throws {
        let input = (["GET / HTTP/1.1", "Host: h"] + cookies.map { "Cookie: \($0)" }).map { $0 + "\r\n" }.joined() + "\r\n"
        let lines = Self.lines(try Wire.forward(input))
        #expect(lines.filter { $0.hasPrefix("Cookie") } == forwarded.map { "Cookie: \($0)" })
    }

    @Test func keepsNonUTF8CookieBytesExactlyWhenStrippingTheSession() throws {
        // Cookie values are opaque octets (RFC 6265 §4.1.1 is advisory; browsers send obs-text as is).
        let cookie = Array("Cookie: a=".utf8) + [0xFF, 0xFE, 0x80] + Array("; porthole_session=x".utf8)
        let parsed = try Wire.parseRequest(wireHeadBytes(Array("GET / HTTP/1.1".utf8), Array("Host: h".utf8), cookie)).get()
        let output = Wire.forward(parsed)
        let cookieLine = Wire.firstCRLFCRLF(output).flatMap { _ in
            output.split(separator: 0x0A).first { $0.starts(with: Array("Cookie:".utf8)) }
        }
        #expect(cookieLine.map(Array.init) == Array("Cookie: a=".utf8) + [0xFF, 0xFE, 0x80, 0x0D])
    }

    // MARK: - X-Forwarded-*

    @Test(
        arguments: [
            ([], "203.0.113.7"),
            (["198.51.100.1"], "198.51.100.1, 203.0.113.7"),
            (["198.51.100.1, 10.0.0.1"], "198.51.100.1, 10.0.0.1, 203.0.113.7"),
            (["a", "b, c"], "a, b, c, 203.0.113.7"),
            (["a", "b", "c"], "a, b, c, 203.0.113.7"),
            (["  a  "], "a, 203.0.113.7"),
        ] as [([String], String)])
    func appendsTheClientToXForwardedForOnOneLine(_ existing: [String], _ forwarded: String) throws {
        let input =
            (["GET / HTTP/1.1", "Host: h"] + existing.map { "X-Forwarded-For: \($0)" } + ["Accept: */*"])
            .map { $0 + "\r\n" }.joined() + "\r\n"
        let lines = Self.lines(try Wire.forward(input, rewrite: .trusted))
        #expect(lines.filter { $0.lowercased().hasPrefix("x-forwarded-for") } == ["X-Forwarded-For: \(forwarded)"])
        #expect(lines[2] == "Accept: */*")
    }

    @Test(
        arguments: [
            ([""], "203.0.113.7"),
            (["", "198.51.100.1"], "198.51.100.1, 203.0.113.7"),
            (["198.51.100.1", ""], "198.51.100.1, 203.0.113.7"),
        ] as [([String], String)])
    func emptyXForwardedForLinesAddNoEmptyElements(_ existing: [String], _ forwarded: String) throws {
        // An empty list element would make "the first address" (what most apps read) the empty string.
        let input =
            (["GET / HTTP/1.1", "Host: h"] + existing.map { "X-Forwarded-For: \($0)" })
            .map { $0 + "\r\n" }.joined() + "\r\n"
        let lines = Self.lines(try Wire.forward(input, rewrite: .trusted))
        #expect(lines.filter { $0.hasPrefix("X-Forwarded-For") } == ["X-Forwarded-For: \(forwarded)"])
    }

    @Test func anUntrustedPeersForwardingFieldsAreReplaced() throws {
        let input =
            [
                "GET / HTTP/1.1", "Host: h", "X-Forwarded-For: 198.51.100.1", "X-Forwarded-Proto: http",
                "X-Forwarded-Host: evil.example", "X-Forwarded-Port: 1",
            ].map { $0 + "\r\n" }.joined() + "\r\n"
        let lines = Self.lines(try Wire.forward(input))
        #expect(
            lines.filter { $0.hasPrefix("X-Forwarded") } == [
                "X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https", "X-Forwarded-Host: h", "X-Forwarded-Port: 443",
            ])
    }

    @Test func aTrustedProxysForwardedForIsDroppedWhenConnectionNamesItHopByHop() throws {
        let input =
            [
                "GET / HTTP/1.1", "Host: h", "X-Forwarded-For: 198.51.100.1", "Connection: X-Forwarded-For",
                "X-Forwarded-For: 198.51.100.2",
            ].map { $0 + "\r\n" }.joined() + "\r\n"
        let lines = Self.lines(try Wire.forward(input, rewrite: .trusted))
        #expect(lines.filter { $0.hasPrefix("X-Forwarded-For") } == ["X-Forwarded-For: 203.0.113.7"])
    }

    @Test func aTrustedProxysSchemeHostAndPortAreKept() throws {
        let input =
            [
                "GET / HTTP/1.1", "Host: h", "X-Forwarded-For: 198.51.100.1", "X-Forwarded-Proto: https",
                "X-Forwarded-Host: app.example", "X-Forwarded-Port: 443",
            ].map { $0 + "\r\n" }.joined() + "\r\n"
        var rewrite = ForwardingRewrite.trusted
        rewrite.scheme = "http"
        rewrite.listenerPort = "8080"
        let lines = Self.lines(try Wire.forward(input, rewrite: rewrite))
        #expect(
            lines.filter { $0.hasPrefix("X-Forwarded") }.sorted() == [
                "X-Forwarded-For: 198.51.100.1, 203.0.113.7", "X-Forwarded-Host: app.example", "X-Forwarded-Port: 443",
                "X-Forwarded-Proto: https",
            ])
    }

    @Test func rewritesHostToLocalhostAndKeepsTheOriginalInXForwardedHost() throws {
        var rewrite = ForwardingRewrite.example
        rewrite.rewriteHostToLocalhost = true
        rewrite.upstreamPort = 5173
        rewrite.scheme = "http"
        rewrite.listenerPort = "80"
        rewrite.clientAddress = "2001:db8::1"
        let output = try Wire.forward(wireHead("GET / HTTP/1.1", "Host: 5173-abc.preview.example", "Accept: */*"), rewrite: rewrite)
        #expect(
            output
                == wireHead(
                    "GET / HTTP/1.1",
                    "Host: localhost:5173",
                    "Accept: */*",
                    "X-Forwarded-For: 2001:db8::1",
                    "X-Forwarded-Proto: http",
                    "X-Forwarded-Host: 5173-abc.preview.example",
                    "X-Forwarded-Port: 80"
                ))
    }

    @Test func usesTheStrippedTargetWhenGiven() throws {
        var rewrite = ForwardingRewrite.example
        rewrite.strippedTarget = "/app?x=1"
        let output = try Wire.forward(wireHead("GET /app?preview_token=abc&x=1 HTTP/1.1", "Host: h"), rewrite: rewrite)
        #expect(Self.lines(output).first == "GET /app?x=1 HTTP/1.1")
        #expect(!output.contains("preview_token"))
    }

    // MARK: - Versions and upgrades

    @Test func forwardsHTTP10AsHTTP10() throws {
        let output = try Wire.forward(wireHead("GET /old HTTP/1.0", "Connection: keep-alive", "Keep-Alive: timeout=3"))
        #expect(
            output
                == wireHead(
                    "GET /old HTTP/1.0", "X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https", "X-Forwarded-Port: 443"
                ))
    }

    @Test(arguments: ["Upgrade", "keep-alive, Upgrade", "upgrade"])
    func keepsUpgradeAndSaysConnectionUpgradeForUpgrades(_ connection: String) throws {
        let output = try Wire.forward(
            wireHead(
                "GET /ws HTTP/1.1", "Host: h", "Connection: \(connection)", "Upgrade: websocket", "Sec-WebSocket-Key: k",
                "Sec-WebSocket-Version: 13"
            ))
        #expect(
            output
                == wireHead(
                    "GET /ws HTTP/1.1", "Host: h", "Upgrade: websocket", "Sec-WebSocket-Key: k", "Sec-WebSocket-Version: 13",
                    "X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https", "X-Forwarded-Host: h", "X-Forwarded-Port: 443",
                    "Connection: upgrade"
                ))
    }

    @Test(arguments: [
        ["GET / HTTP/1.1", "Host: h", "Upgrade: h2c"],
        ["GET / HTTP/1.1", "Host: h", "Upgrade: h2c", "Connection: close"],
        ["GET / HTTP/1.0", "Host: h", "Upgrade: websocket", "Connection: upgrade"],
    ])
    func dropsUpgradeWhenItIsNotAnUpgrade(_ lines: [String]) throws {
        let output = try Wire.forward(lines.map { $0 + "\r\n" }.joined() + "\r\n")
        #expect(!output.lowercased().contains("upgrade"))
        #expect(!output.lowercased().contains("connection"))
    }

    // MARK: - Framing survives

    @Test(arguments: [
        ["POST / HTTP/1.1", "Host: h", "Content-Length: 5", "Connection: Content-Length"],
        ["POST / HTTP/1.1", "Host: h", "Transfer-Encoding: chunked", "Connection: transfer-encoding"],
        ["POST / HTTP/1.1", "Host: h", "Content-Length: 5", "Connection: keep-alive, content-length, close"],
        ["POST / HTTP/1.1", "Host: h", "Connection: Host", "Content-Length: 5"],
    ])
    func connectionCannotStripTheFieldsThatFrameTheRequest(_ lines: [String]) throws {
        // The proxy frames the body by these fields and forwards the body; if the upstream did not see
        // them it would read the body as the next request on a pooled connection (request smuggling).
        let parsed = try Wire.request(lines.map { $0 + "\r\n" }.joined() + "\r\n")
        let forwarded = Wire.forward(parsed)
        let reparsed = Wire.parseRequest(forwarded)
        #expect((try? reparsed.get())?.head.framing == parsed.head.framing, "\(String(decoding: forwarded, as: UTF8.self))")
        if case .failure(let error) = reparsed { Issue.record("forwarded head refused: \(error)") }
    }

    static let reparseCorpus: [[String]] = [
        ["GET / HTTP/1.1", "Host: h"],
        ["GET /x?y HTTP/1.1", "Host: h", "Connection: close", "Cookie: a=1; porthole_session=s", "X-Forwarded-For: 1.1.1.1"],
        ["POST /p HTTP/1.1", "Host: h", "Content-Length: 10", "Expect: 100-continue", "X-Preview-Token: t"],
        ["POST /p HTTP/1.1", "host: h", "transfer-encoding: gzip, chunked", "te: trailers", "Connection: TE"],
        ["POST /p HTTP/1.0", "Content-Length: 3", "Connection: keep-alive"],
        ["GET /ws HTTP/1.1", "Host: h", "Connection: Upgrade", "Upgrade: websocket"],
        ["OPTIONS * HTTP/1.1", "Host: h", "Access-Control-Request-Method: PUT", "Proxy-Connection: keep-alive"],
        ["GET http://h/abs HTTP/1.1", "Host: h", "X-Forwarded-Host: spoof", "X-Forwarded-Port: 1", "X-Forwarded-Proto: ftp"],
        ["GET / HTTP/1.1", "Host: h", "Cookie: porthole_session=only"],
    ]

    @Test(arguments: reparseCorpus)
    func forwardedHeadReparsesWithTheSameMeaning(_ lines: [String]) throws {
        let parsed = try Wire.request(lines.map { $0 + "\r\n" }.joined() + "\r\n")
        let forwarded = Wire.forward(parsed)
        let reparsed = try Wire.parseRequest(forwarded).get()
        #expect(reparsed.bytes.count == forwarded.count)
        #expect(reparsed.method == parsed.method)
        #expect(reparsed.target == parsed.target)
        #expect(reparsed.head.version == parsed.head.version)
        #expect(reparsed.head.framing == parsed.head.framing)
        #expect(reparsed.head.isUpgrade == parsed.head.isUpgrade)
        #expect(reparsed.head.expectsContinue == parsed.head.expectsContinue)
        // Nothing hop-by-hop or Porthole's own is left, and each forwarding field appears once.
        let kinds = reparsed.head.fields.map(\.kind)
        for stripped: HeaderField.Kind in [.keepAlive, .proxyConnection, .te, .previewToken] {
            #expect(!kinds.contains(stripped), "\(stripped)")
        }
        #expect(kinds.filter { $0 == .connection }.count == (parsed.head.isUpgrade ? 1 : 0))
        #expect(kinds.filter { $0 == .xForwardedFor }.count == 1)
        #expect(kinds.filter { $0 == .xForwardedProto }.count == 1)
        #expect(kinds.filter { $0 == .xForwardedPort }.count == 1)
        #expect(kinds.filter { $0 == .xForwardedHost }.count == (parsed.head.hostField == nil ? 0 : 1))
        #expect(reparsed.values(.cookie).allSatisfy { !$0.contains("porthole_session=") })
    }

    /// `Transfer_Encoding` and friends are read as the real fields by servers that fold `_` into
    /// `-` (CGI, PHP, WSGI): never forwarded, as nginx does by default.
    @Test func dropsFieldNamesWithUnderscores() throws {
        let output = try Wire.forward(
            wireHead(
                "GET / HTTP/1.1", "Host: h", "Transfer_Encoding: chunked", "Content_Length: 5", "X_Custom: 1", "X-Keep: yes"
            ))
        #expect(!output.contains("_"))
        #expect(output.contains("X-Keep: yes\r\n"))
    }

    @Test(arguments: [false, true])
    func clientAddressClaimsOnlyFromTrustedProxies(_ trusted: Bool) throws {
        var rewrite = ForwardingRewrite.example
        rewrite.trustForwardedFields = trusted
        let claims = ["X-Real-IP: 1.2.3.4", "X-Client-IP: 1.2.3.4", "True-Client-IP: 1.2.3.4", "CF-Connecting-IP: 1.2.3.4"]
        let input = (["GET / HTTP/1.1", "Host: h"] + claims).map { $0 + "\r\n" }.joined() + "\r\n"
        let output = try Wire.forward(input, rewrite: rewrite)
        for claim in claims {
            #expect(output.contains(claim + "\r\n") == trusted, "\(claim)")
        }
    }

    /// The pair that authenticates (CookieHeader tolerates spaces before `=`) is the pair removed.
    @Test(arguments: ["porthole_session =v1", "porthole_session\t=v1", "porthole_session  =  v1"])
    func removesTheSessionCookieHowEverItIsSpaced(_ pair: String) throws {
        let output = try Wire.forward(wireHead("GET / HTTP/1.1", "Host: h", "Cookie: a=1; \(pair); b=2"))
        #expect(!output.contains("porthole_session"))
        #expect(output.contains("Cookie: a=1; b=2\r\n"))
        #expect(CookieHeader.values(name: "porthole_session", in: "a=1; \(pair); b=2") == ["v1"])
    }
}
