@_spi(Benchmarks) @testable import PortholeProxy
import PortholeCore
import Testing

/// What `RequestHead.parse` accepts and how it reads it: request line, versions, field lines, framing.
@Suite struct RequestHeadTests {
    // MARK: - Request line

    @Test func parsesAPlainGET() throws {
        let parsed = try Wire.request(wireHead("GET /index.html?q=1 HTTP/1.1", "Host: app.example", "Accept: */*"))
        #expect(parsed.method == "GET")
        #expect(parsed.target == "/index.html?q=1")
        #expect(parsed.head.version == .http11)
        #expect(parsed.head.isGET && !parsed.head.isHEAD && !parsed.head.isOPTIONS)
        #expect(parsed.head.framing == .none)
        #expect(!parsed.head.wantsClose)
        #expect(!parsed.head.isUpgrade)
        #expect(!parsed.head.expectsContinue)
        #expect(parsed.names == ["Host", "Accept"])
        let hostField = try #require(parsed.head.hostField)
        #expect(parsed.text(parsed.head.fields[hostField].value) == "app.example")
    }

    @Test(arguments: [
        ("GET", true, false, false),
        ("HEAD", false, true, false),
        ("OPTIONS", false, false, true),
        ("POST", false, false, false),
        // Methods are case-sensitive (RFC 9110 §9.1): `get` is some other method.
        ("get", false, false, false),
        ("Head", false, false, false),
        ("GETS", false, false, false),
        ("M-SEARCH", false, false, false),
        ("PROPFIND", false, false, false),
    ])
    func classifiesMethodsCaseSensitively(_ method: String, _ isGET: Bool, _ isHEAD: Bool, _ isOPTIONS: Bool) throws {
        let parsed = try Wire.request(wireHead("\(method) / HTTP/1.1", "Host: a"))
        #expect(parsed.method == method)
        #expect(parsed.head.isGET == isGET)
        #expect(parsed.head.isHEAD == isHEAD)
        #expect(parsed.head.isOPTIONS == isOPTIONS)
    }

    @Test func methodMayUseEveryTokenCharacter() throws {
        let method = "!#$%&'*+-.^_`|~09azAZ"
        #expect(try Wire.request(wireHead("\(method) / HTTP/1.1", "Host: a")).method == method)
    }

    @Test(arguments: [
        "*",
        "http://app.example:8080/path?x=1#frag",
        "app.example:443",
        "/a/b/c?d=e&f=%20g",
        "/~user/!$&'()*+,;=:@",
    ])
    func acceptsEveryTargetForm(_ target: String) throws {
        let parsed = try Wire.request(wireHead("OPTIONS \(target) HTTP/1.1", "Host: app.example"))
        #expect(parsed.target == target)
    }

    @Test(arguments: [
        "GET  / HTTP/1.1",  // empty target
        " GET / HTTP/1.1",  // empty method
        "GET / HTTP/1.1 ",  // trailing space makes the version 9 bytes
        "GET /  HTTP/1.1",
        "GET\t/ HTTP/1.1",  // only SP separates (RFC 9112 §3)
        "GET /\tHTTP/1.1",
        "GET / \tHTTP/1.1",
        "GET /a b HTTP/1.1",  // space inside the target
        "GET /a\u{01}b HTTP/1.1",
        "GET /a\u{7F}b HTTP/1.1",
        "GET /a\u{0}b HTTP/1.1",
        "GET /é HTTP/1.1",  // raw non-ASCII in the target
        "G(ET / HTTP/1.1",
        "GE@T / HTTP/1.1",
        "G\u{0}ET / HTTP/1.1",
        "GÉT / HTTP/1.1",
        "GET/ HTTP/1.1",
        "GET",
        "GET /",
        "GET / ",
        "/ HTTP/1.1",
        "GET / HTTP/1.1\rX",  // bare CR ends the line
        "http/1.1 200 OK",
    ])
    func refusesMalformedRequestLines(_ line: String) {
        #expect(Wire.requestOutcome(wireHead(line, "Host: a")) == .refused(.malformedRequestLine))
    }

    @Test func requestLineMustEndInCRLF() {
        #expect(Wire.requestOutcome("GET / HTTP/1.1\nHost: a\r\n\r\n") == .refused(.malformedRequestLine))
        #expect(Wire.requestOutcome("GET / HTTP/1.1\r\rHost: a\r\n\r\n") == .refused(.malformedRequestLine))
        // The handler skips empty lines before a request (RFC 9112 §2.2); the parser itself does not.
        #expect(Wire.requestOutcome("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == .refused(.malformedRequestLine))
    }

    // MARK: - Versions

    @Test(arguments: [
        // A well-formed version we do not speak: 505 (RFC 9110 §15.6.6).
        ("HTTP/2.0", HTTPParseError.unsupportedVersion),
        ("HTTP/1.2", .unsupportedVersion),
        ("HTTP/0.9", .unsupportedVersion),
        ("HTTP/3.0", .unsupportedVersion),
        ("HTTP/1.9", .unsupportedVersion),
        // Not the HTTP-version grammar at all: a bad request line, 400 (RFC 9112 §2.3, §3).
        ("http/1.1", .malformedRequestLine),
        ("Http/1.1", .malformedRequestLine),
        ("HTTP/1.10", .malformedRequestLine),
        ("HTTP/11", .malformedRequestLine),
        ("HTTP/1", .malformedRequestLine),
        ("HTTP/2", .malformedRequestLine),
        ("HTTPS/1.1", .malformedRequestLine),
        ("HTTP/1.1.", .malformedRequestLine),
        ("HTTP/1.x", .malformedRequestLine),
        ("HTTX/1.1", .malformedRequestLine),
        ("H\u{0}TP/1.1", .malformedRequestLine),
    ])
    func refusesOtherVersions(_ version: String, _ error: HTTPParseError) {
        let outcome = Wire.requestOutcome(wireHead("GET / \(version)", "Host: a"))
        #expect(outcome == .refused(error))
        if case .refused(let actual) = outcome {
            #expect(actual.status == (error == .unsupportedVersion ? 505 : 400))
        }
    }

    @Test func http10NeedsNoHostAndClosesByDefault() throws {
        let parsed = try Wire.request(wireHead("GET / HTTP/1.0"))
        #expect(parsed.head.version == .http10)
        #expect(parsed.head.hostField == nil)
        #expect(parsed.head.wantsClose)
    }

    @Test(arguments: [
        // (version, connection values, wantsClose)
        ("HTTP/1.0", [String](), true),
        ("HTTP/1.0", ["keep-alive"], false),
        ("HTTP/1.0", ["Keep-Alive"], false),
        ("HTTP/1.0", ["foo, KEEP-ALIVE"], false),
        ("HTTP/1.0", ["keep-alive, close"], true),
        ("HTTP/1.0", ["keep-alive", "close"], true),
        ("HTTP/1.0", ["keep-alives"], true),
        ("HTTP/1.1", [], false),
        ("HTTP/1.1", ["close"], true),
        ("HTTP/1.1", ["Close"], true),
        ("HTTP/1.1", ["x-foo,\tclose "], true),
        ("HTTP/1.1", [",,close,,"], true),
        ("HTTP/1.1", ["keep-alive"], false),
        ("HTTP/1.1", ["closed"], false),
        ("HTTP/1.1", ["\"close\""], false),
        ("HTTP/1.1", ["upgrade"], false),
    ])
    func wantsCloseFollowsVersionAndConnection(_ version: String, _ connection: [String], _ wantsClose: Bool) throws {
        let lines = ["GET / \(version)", "Host: a"] + connection.map { "Connection: \($0)" }
        let text = lines.map { $0 + "\r\n" }.joined() + "\r\n"
        #expect(try Wire.request(text).head.wantsClose == wantsClose)
    }

    @Test func http10MayCarryAHostAndABody() throws {
        let parsed = try Wire.request(wireHead("POST /form HTTP/1.0", "Host: a", "Content-Length: 3"))
        #expect(parsed.head.hostField == 0)
        #expect(parsed.head.framing == .contentLength(3))
    }

    // MARK: - Field lines

    @Test func classifiesEveryKnownFieldNameCaseInsensitively() throws {
        let table: [(String, HeaderField.Kind)] = [
            ("Host", .host), ("Content-Length", .contentLength), ("Transfer-Encoding", .transferEncoding),
            ("Connection", .connection), ("Keep-Alive", .keepAlive), ("Proxy-Connection", .proxyConnection),
            ("TE", .te), ("Upgrade", .upgrade), ("X-Preview-Token", .previewToken),
            ("X-Daytona-Preview-Token", .previewToken), ("Cookie", .cookie), ("Accept", .accept),
            ("Sec-Fetch-Mode", .secFetchMode), ("Access-Control-Request-Method", .accessControlRequestMethod),
            ("X-Forwarded-For", .xForwardedFor), ("X-Forwarded-Proto", .xForwardedProto),
            ("X-Forwarded-Host", .xForwardedHost), ("X-Forwarded-Port", .xForwardedPort), ("Expect", .expect),
            // Near misses stay `.other`.
            ("Hosts", .other), ("Hos", .other), ("Content-Lengt", .other), ("Content_Length", .other),
            ("Content-Length2", .other), ("TEE", .other), ("T", .other), ("Transfer_Encoding", .other),
            ("Transfer-Encodings", .other), ("Accept-Encodings", .other), ("X-Forwarded-Fo", .other),
            ("X-Preview-Tokens", .other), ("Connectio", .other), ("Upgrade-Insecure-Requests", .other),
            ("Set-Cookie", .setCookie), ("Set-Cookie2", .other), ("Cookie2", .other), ("Expects", .other), ("Forwarded", .forwarded), ("Forwarde", .other),
            ("Sec-Fetch-Site", .secFetchSite), ("Sec-Fetch-Dest", .secFetchDest), ("Sec-Fetch-User", .other), ("Access-Control-Request-Header", .other),
            ("Origins", .other),
            ("X-Real-IP", .clientAddressClaim), ("X-Client-IP", .clientAddressClaim), ("True-Client-IP", .clientAddressClaim),
            ("CF-Connecting-IP", .clientAddressClaim), ("Origin", .origin),
            ("Access-Control-Request-Headers", .accessControlRequestHeaders),
            // What response compression reads.
            ("Accept-Encoding", .acceptEncoding), ("Range", .range), ("Content-Encoding", .contentEncoding),
            ("Content-Type", .contentType), ("Cache-Control", .cacheControl), ("ETag", .etag), ("Accept-Ranges", .acceptRanges),
            ("Ranges", .other), ("Content-Types", .other), ("ETags", .other), ("Accept-Range", .other),
            // What hostRewrite maps.
            ("Referer", .referer), ("Location", .location), ("Content-Location", .contentLocation), ("Refresh", .refresh),
            ("Referrer", .other), ("Locations", .other),
        ]
        for (name, kind) in table {
            for variant in [name, name.lowercased(), name.uppercased(), Self.alternatingCase(name)] {
                let bytes = Array(variant.utf8)
                let classified = bytes.withUnsafeBytes { HeaderField.classify($0, 0..<bytes.count) }
                #expect(classified == kind, "\(variant)")
            }
        }
    }

    @Test func classifiesFieldsWhileParsing() throws {
        let parsed = try Wire.request(
            wireHead(
                "GET / HTTP/1.1", "hOST: a", "cookie: c=1", "X-DAYTONA-PREVIEW-TOKEN: t", "x-forwarded-for: 1.2.3.4",
                "Sec-Fetch-Mode: navigate", "X-Custom: y"
            ))
        #expect(parsed.head.fields.map(\.kind) == [.host, .cookie, .previewToken, .xForwardedFor, .secFetchMode, .other])
        #expect(parsed.head.hostField == 0)
    }

    @Test(arguments: [
        ("X: v", "v"),
        ("X:v", "v"),
        ("X:   v   ", "v"),
        ("X:\tv\t", "v"),
        ("X: \t v \t ", "v"),
        ("X: a  b", "a  b"),
        ("X: a\tb", "a\tb"),
        ("X:", ""),
        ("X: ", ""),
        ("X:\t\t", ""),
        ("X: \"quoted, list\"", "\"quoted, list\""),
        ("X: ü and é", "ü and é"),  // obs-text bytes (UTF-8 here) are allowed in values
        ("X: a:b:c", "a:b:c"),
    ])
    func trimsOptionalWhitespaceAroundValues(_ line: String, _ value: String) throws {
        let parsed = try Wire.request(wireHead("GET / HTTP/1.1", "Host: a", line))
        let field = try #require(parsed.head.fields.last)
        #expect(parsed.text(field.name) == "X")
        #expect(parsed.text(field.value) == value)
        #expect(field.value.lowerBound > field.name.upperBound)
    }

    @Test func acceptsRawObsTextBytesInValues() throws {
        let bytes = wireHeadBytes(Array("GET / HTTP/1.1".utf8), Array("Host: a".utf8), Array("X: ".utf8) + [0x80, 0xFF, 0xA0])
        let parsed = try Wire.parseRequest(bytes).get()
        #expect(parsed.bytes[parsed.head.fields[1].value] == [0x80, 0xFF, 0xA0])
    }

    @Test func acceptsAnEmptyHost() throws {
        // RFC 9112 §3.2: an empty Host is valid when the target has no authority; whether a preview
        // host can be found in it is the router's business.
        let parsed = try Wire.request(wireHead("GET / HTTP/1.1", "Host:"))
        #expect(parsed.head.hostField == 0)
        #expect(parsed.head.fields[0].value.isEmpty)
    }

    @Test func parsesManyFieldsAndTheirRanges() throws {
        let count = 200
        var lines = ["POST /upload HTTP/1.1", "Host: a"]
        for index in 0..<count { lines.append("X-Field-\(index): value \(index)") }
        lines.append("Content-Length: 42")
        let text = lines.map { $0 + "\r\n" }.joined() + "\r\n"
        let parsed = try Wire.request(text)
        #expect(parsed.head.fields.count == count + 2)
        for index in 0..<count {
            let field = parsed.head.fields[index + 1]
            #expect(parsed.text(field.name) == "X-Field-\(index)")
            #expect(parsed.text(field.value) == "value \(index)")
        }
        #expect(parsed.head.framing == .contentLength(42))
    }

    @Test func reusesTheSameValueForTheNextHead() throws {
        var head = RequestHead()
        let first = Array(
            wireHead(
                "POST /a HTTP/1.1", "Host: a", "Content-Length: 5", "Connection: Upgrade, close",
                "Upgrade: x", "Expect: 100-continue"
            ).utf8)
        let second = Array(wireHead("GET /b HTTP/1.0").utf8)
        try first.withUnsafeBytes { try head.parse($0, end: $0.count) }
        #expect(head.framing == .contentLength(5) && head.isUpgrade && head.wantsClose && head.expectsContinue)
        try second.withUnsafeBytes { try head.parse($0, end: $0.count) }
        #expect(head.fields.isEmpty)
        #expect(head.hostField == nil)
        #expect(head.framing == .none)
        #expect(!head.isUpgrade && !head.expectsContinue && head.isGET)
        #expect(head.target == 4..<6)
        #expect(head.version == .http10)
    }

    @Test(arguments: [
        ("100-continue", true),
        ("100-Continue", true),
        ("  100-continue  ", true),
        ("100-continue, foo", false),
        ("200-ok", false),
        ("", false),
    ])
    func detectsExpectContinue(_ value: String, _ expected: Bool) throws {
        let parsed = try Wire.request(wireHead("POST / HTTP/1.1", "Host: a", "Content-Length: 1", "Expect: \(value)"))
        #expect(parsed.head.expectsContinue == expected)
    }

    // MARK: - Field line refusals

    @Test(arguments: [
        // Space or tab before the colon (RFC 9112 §5.1: MUST reject).
        ("Host : a", HTTPParseError.invalidHeaderName),
        ("Host\t: a", .invalidHeaderName),
        ("X-Foo : b", .invalidHeaderName),
        // Names are tokens.
        (": a", .invalidHeaderName),
        ("X Foo: a", .invalidHeaderName),
        ("X(Foo): a", .invalidHeaderName),
        ("X@: a", .invalidHeaderName),
        ("X\"Y\": a", .invalidHeaderName),
        ("X/Y: a", .invalidHeaderName),
        ("X\u{0}: a", .invalidHeaderName),
        ("X\u{7F}: a", .invalidHeaderName),
        ("Ünicode: a", .invalidHeaderName),
        ("NoColon", .invalidHeaderName),
        ("NoColon a", .invalidHeaderName),
        // Control characters in values.
        ("X: a\u{0}b", .invalidHeaderValue),
        ("X: \u{0}", .invalidHeaderValue),
        ("X: a\u{1}", .invalidHeaderValue),
        ("X: a\u{8}b", .invalidHeaderValue),
        ("X: a\u{B}b", .invalidHeaderValue),
        ("X: a\u{C}b", .invalidHeaderValue),
        ("X: a\u{1B}b", .invalidHeaderValue),
        ("X: a\u{1F}b", .invalidHeaderValue),
        ("X: a\u{7F}b", .invalidHeaderValue),
        ("Host: a\u{0}.evil", .invalidHeaderValue),
        // Bare CR inside a value, or a CR that is not followed by LF.
        ("X: a\rb", .bareLineFeedOrCarriageReturn),
        ("X: a\r", .bareLineFeedOrCarriageReturn),
        ("X: \r", .bareLineFeedOrCarriageReturn),
        // A bare LF ends a line early (RFC 9112 §2.2: a recipient may not treat it as a line end here).
        ("X: a\nY: b", .bareLineFeedOrCarriageReturn),
        ("X: a\n", .bareLineFeedOrCarriageReturn),
        ("X:\n", .bareLineFeedOrCarriageReturn),
        ("X: a\n\nY: b", .bareLineFeedOrCarriageReturn),
    ])
    func refusesMalformedFieldLines(_ line: String, _ error: HTTPParseError) {
        #expect(Wire.requestOutcome(wireHead("GET / HTTP/1.1", "Host: a", line)) == .refused(error))
        #expect(error.status == 400)
    }

    @Test func refusesABareLineFeedBetweenLinesOrAtLineStart() {
        #expect(Wire.requestOutcome("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n") == .refused(.bareLineFeedOrCarriageReturn))
        // A line that is only a bare LF cannot start a field name.
        #expect(Wire.requestOutcome("GET / HTTP/1.1\r\nHost: a\r\n\nX: b\r\n\r\n") == .refused(.invalidHeaderName))
        #expect(Wire.requestOutcome("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n\r\n") == .refused(.invalidHeaderName))
    }

    @Test(arguments: [
        ["GET / HTTP/1.1", "Host: a", "X: one", " two"],
        ["GET / HTTP/1.1", "Host: a", "X: one", "\ttwo"],
        ["GET / HTTP/1.1", "Host: a", "X: one", "  "],
        // Whitespace before the first field line (RFC 9112 §2.2) is refused the same way.
        ["GET / HTTP/1.1", " Host: a"],
        ["GET / HTTP/1.1", "\tX: y", "Host: a"],
    ])
    func refusesObsoleteLineFolding(_ lines: [String]) {
        let text = lines.map { $0 + "\r\n" }.joined() + "\r\n"
        #expect(Wire.requestOutcome(text) == .refused(.obsoleteLineFolding))
    }

    @Test func http11NeedsExactlyOneHost() {
        #expect(Wire.requestOutcome(wireHead("GET / HTTP/1.1")) == .refused(.missingHost))
        #expect(Wire.requestOutcome(wireHead("GET / HTTP/1.1", "X-Host: a")) == .refused(.missingHost))
        #expect(Wire.requestOutcome(wireHead("GET / HTTP/1.1", "Host: a", "Host: b")) == .refused(.duplicateHost))
        // Identical values and different case make no difference: one Host only (RFC 9112 §3.2).
        #expect(Wire.requestOutcome(wireHead("GET / HTTP/1.1", "Host: a", "host: a")) == .refused(.duplicateHost))
        #expect(Wire.requestOutcome(wireHead("GET / HTTP/1.0", "Host: a", "HOST: b")) == .refused(.duplicateHost))
        #expect(Wire.requestOutcome(wireHead("GET / HTTP/1.1", "Host: a", "Host:")) == .refused(.duplicateHost))
    }

    // MARK: - Content-Length

    @Test(arguments: [
        ("0", MessageFraming.none),
        ("00", .none),
        ("1", .contentLength(1)),
        ("007", .contentLength(7)),
        ("  12  ", .contentLength(12)),
        ("\t12", .contentLength(12)),
        ("1234567890", .contentLength(1_234_567_890)),
        ("999999999999999999", .contentLength(999_999_999_999_999_999)),  // 18 digits: the most accepted
        ("000000000000000001", .contentLength(1)),
    ])
    func acceptsPlainDecimalContentLengths(_ value: String, _ framing: MessageFraming) {
        #expect(Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Host: a", "Content-Length: \(value)")) == .accepted(framing))
    }

    @Test(arguments: [
        "", "+5", "-5", "-0", "5 5", "5,5", "5, 5", "5,", ",5", "0x5", "5.0", "1e3", "five", "\"5\"", "5;", "٥",
        "1000000000000000000",  // 19 digits
        "9223372036854775807",  // Int64.max: still 19 digits
        "9223372036854775808",  // Int64.max + 1
        "99999999999999999999",  // 20 digits
        "0000000000000000005",  // 19 digits even though the value is small
        "18446744073709551621",  // wraps to 5 in UInt64
    ])
    func refusesAnythingButDigitsInContentLength(_ value: String) {
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Host: a", "Content-Length: \(value)"))
                == .refused(.invalidContentLength)
        )
    }

    @Test func identicalRepeatedContentLengthsAreOneLength() {
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "content-length: 5"))
                == .accepted(.contentLength(5))
        )
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Content-Length: 5", "Host: a", "Content-Length: 5", "Content-Length: 5"))
                == .accepted(.contentLength(5))
        )
    }

    @Test func differingContentLengthsAreRefused() {
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 6"))
                == .refused(.conflictingContentLength)
        )
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Host: a", "Content-Length: 0", "Content-Length: 5"))
                == .refused(.conflictingContentLength)
        )
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 5", "Content-Length: 50"))
                == .refused(.conflictingContentLength)
        )
    }

    // MARK: - Transfer-Encoding

    @Test(arguments: [
        "chunked", "Chunked", "CHUNKED", " chunked ", "\tchunked", "gzip, chunked", "gzip,chunked", "deflate,\tgzip , chunked",
        ", chunked", "chunked,", "chunked ,  ,",
    ])
    func acceptsChunkedAsTheFinalCoding(_ value: String) {
        #expect(Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: \(value)")) == .accepted(.chunked))
    }

    @Test(arguments: [
        "", " ", ",", "identity", "gzip", "chunked, gzip", "chunked, identity", "chunked, chunked", "chunked,chunked",
        "gzip, chunked, chunked", "chunked, gzip, chunked", "xchunked", "chunkedx", "chunk", "chunked;q=1", "\"chunked\"",
        "chunked chunked", "chunked x", "chun ked",
        "chun\u{212A}ed",  // Kelvin sign, which Unicode case folding turns into k
    ])
    func refusesEveryOtherTransferEncoding(_ value: String) {
        let outcome = Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: \(value)"))
        #expect(outcome == .refused(.unsupportedTransferEncoding))
        #expect(HTTPParseError.unsupportedTransferEncoding.status == 501)
    }

    @Test func refusesASecondTransferEncodingLineEvenIfTheMergeWouldBeValid() {
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked"))
                == .refused(.unsupportedTransferEncoding)
        )
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "transfer-encoding: chunked"))
                == .refused(.unsupportedTransferEncoding)
        )
    }

    @Test func refusesTransferEncodingInHTTP10() {
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.0", "Transfer-Encoding: chunked"))
                == .refused(.transferEncodingInHTTP10)
        )
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.0", "Host: a", "Transfer-Encoding: chunked", "Connection: keep-alive"))
                == .refused(.transferEncodingInHTTP10)
        )
        #expect(HTTPParseError.transferEncodingInHTTP10.status == 400)
    }

    @Test func refusesContentLengthWithTransferEncodingInEitherOrder() {
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Transfer-Encoding: chunked"))
                == .refused(.contentLengthWithTransferEncoding)
        )
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.1", "Transfer-Encoding: chunked", "Host: a", "Content-Length: 0"))
                == .refused(.contentLengthWithTransferEncoding)
        )
        #expect(
            Wire.requestOutcome(wireHead("POST / HTTP/1.0", "Transfer-Encoding: chunked", "Content-Length: 3"))
                == .refused(.contentLengthWithTransferEncoding)
        )
    }

    // MARK: - Head end

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", HeadEndResult.complete(27)),
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n", .complete(27)),
        // What follows the head is the body or the next request: not this head's business.
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody\n", .complete(27)),
        ("\r\n\r\n", .complete(4)),
        ("", .incomplete),
        ("\r", .incomplete),
        ("\r\n\r", .incomplete),
        ("GET / HTTP/1.1\r\nHost: a\r\n\r", .incomplete),
        ("GET / HTTP/1.1\r\nHost: a\r\r\n\r\r\n", .incomplete),
        // A bare CR is the parser's to refuse; the head end is still found.
        ("GET / HTTP/1.1\r\nX: a\rb\r\nHost: a\r\n\r\n", .complete(35)),
        // A bare LF anywhere before the end refuses the head without waiting for more.
        ("\n", .bareLineFeed),
        ("GET / HTTP/1.1\n", .bareLineFeed),
        ("GET / HTTP/1.1\r\nHost: a\n\n", .bareLineFeed),
        ("GET / HTTP/1.1\r\nHost: a\n\r\n", .bareLineFeed),
        ("GET / HTTP/1.1\r\nHost: a\r\n\n", .bareLineFeed),
        ("GET / HTTP/1.1\r\nX: \n\r\nHost: a\r\n\r\n", .bareLineFeed),
    ])
    func headEndFindsTheFirstCRLFCRLFOrABareLineFeed(_ text: String, _ expected: HeadEndResult) {
        #expect(Wire.headEnd(Array(text.utf8)) == expected)
    }

    // MARK: - Helpers

    private static func alternatingCase(_ text: String) -> String {
        String(text.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.lowercased()) : Character($0.element.uppercased()) })
    }
}

/// The proxy hands Core's ``RequestHints`` the fields it parsed: the rule that runs is the one tested.
@Suite struct RequestHeadHintsTests {
    @Test(
        arguments: [
            (wireHead("GET / HTTP/1.1", "Host: a", "Accept: text/html"), RequestKind.navigation, true),
            (wireHead("HEAD / HTTP/1.1", "Host: a", "ACCEPT: TEXT/HTML"), .navigation, true),
            (wireHead("GET / HTTP/1.1", "Host: a", "Accept: text/html;q=0"), .other, false),
            (wireHead("GET / HTTP/1.1", "Host: a", "Sec-Fetch-Mode: cors", "Accept: text/html"), .other, true),
            (wireHead("POST / HTTP/1.1", "Host: a", "Sec-Fetch-Mode: navigate", "Content-Length: 0"), .other, true),
            (wireHead("GET / HTTP/1.1", "Host: a", "Connection: upgrade", "Upgrade: websocket", "Accept: text/html"), .upgrade, true),
            // A bare Upgrade field is no upgrade (RFC 9110 §7.8): an ordinary request, a navigation here.
            (wireHead("GET / HTTP/1.1", "Host: a", "Upgrade: websocket", "Accept: text/html"), .navigation, true),
            (wireHead("GET / HTTP/1.1", "Host: a", "Accept: application/json", "Accept: text/html"), .navigation, true),
        ] as [(String, RequestKind, Bool)])
    func parsedHeadsGiveTheirHints(_ wire: String, _ kind: RequestKind, _ html: Bool) throws {
        let parsed = try Wire.request(wire)
        let hints = parsed.bytes.withUnsafeBytes { parsed.head.hints($0) }
        #expect(hints.kind == kind)
        #expect(hints.prefersHTML == html)
    }
}
