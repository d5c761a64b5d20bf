@_spi(Benchmarks) @testable import PortholeProxy
import Testing

/// What `ResponseHead.parse` makes of an upstream's head: status, framing (RFC 9112 §6.3), reuse.
@Suite struct ResponseHeadTests {
    @Test func parsesAPlainResponse() throws {
        let parsed = try Wire.response(wireHead("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5"))
        #expect(parsed.head.status == 200)
        #expect(parsed.head.version == .http11)
        #expect(parsed.head.statusLineEnd == 17)
        #expect(parsed.head.framing == .contentLength(5))
        #expect(!parsed.head.upstreamCloses)
        #expect(!parsed.head.hasHopByHopFields)
        #expect(parsed.head.fields.map { parsed.text($0.name) } == ["Content-Type", "Content-Length"])
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK", 200),
        ("HTTP/1.1 200", 200),  // no reason and no SP (RFC 9112 §4: recipients accept it)
        ("HTTP/1.1 200 ", 200),
        ("HTTP/1.1 404 Not Found", 404),
        ("HTTP/1.1 599 Made  Up\tReason", 599),
        ("HTTP/1.1 999 X", 999),
        ("HTTP/1.1 100 Continue", 100),
        ("HTTP/1.0 302 Found", 302),
        ("HTTP/1.1 200 Ça marche", 200),
        ("HTTP/1.1 200 OK: yes; really, \"quoted\"", 200),
    ])
    func readsTheStatusCode(_ statusLine: String, _ status: Int) throws {
        let parsed = try Wire.response(wireHead(statusLine, "Content-Length: 0"))
        #expect(parsed.head.status == status)
        #expect(parsed.head.statusLineEnd == statusLine.utf8.count + 2)
    }

    @Test func acceptsObsTextInTheReasonPhrase() throws {
        let bytes = wireHeadBytes(Array("HTTP/1.1 200 ".utf8) + [0x80, 0xA0, 0xFF, 0x20, 0x4F, 0x4B], Array("Content-Length: 0".utf8))
        let parsed = try Wire.parseResponse(bytes).get()
        #expect(parsed.head.status == 200)
        #expect(parsed.head.statusLineEnd == 21)
    }

    @Test(arguments: [
        "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 abc OK", "HTTP/1.1  200 OK", "HTTP/1.1 099 Low", "HTTP/1.1 000",
        "HTTP/1.1 -20 OK", "HTTP/1.1 +20 OK", "HTTP/1.1 2 0 OK", "HTTP/1.1 200OK", "HTTP/1.1\t200 OK", "HTTP/1.1 200\tOK",
        "HTTP/2 200 OK", "HTTP/2.0 200 OK", "HTTP/1.2 200 OK", "http/1.1 200 OK", "HTTP/1.10 200 OK", " HTTP/1.1 200 OK",
        "ICY 200 OK", "HTTP/1.1 200 OK\u{1}", "HTTP/1.1 200 OK\u{0}", "HTTP/1.1 200 OK\u{7F}", "HTTP/1.1 200 O\rK",
        "HTTP/1.1 200 OK\nX: y", "HTTP/1.1 20\u{0}",
    ])
    func refusesMalformedStatusLines(_ statusLine: String) {
        #expect(Wire.responseOutcome(wireHead(statusLine, "Content-Length: 0")) == .refused(.malformedStatusLine))
    }

    @Test func refusesHeadsTooShortForAStatusLine() {
        #expect(Wire.responseOutcome("HTTP/1.1\r\n\r\n") == .refused(.malformedStatusLine))
        #expect(Wire.responseOutcome("HTTP/1.1 2\r\n\r\n") == .refused(.malformedStatusLine))
        #expect(Wire.responseOutcome("\r\n\r\n") == .refused(.malformedStatusLine))
        #expect(Wire.responseOutcome("HTTP/1.1 200\r\n\r\n") == .accepted(.untilClose))
    }

    @Test(arguments: [
        ("X : y", HTTPParseError.invalidHeaderName),
        (" X: y", .obsoleteLineFolding),
        ("X: y\nZ: w", .bareLineFeedOrCarriageReturn),
        ("X: y\u{0}", .invalidHeaderValue),
        ("Content-Length: 5, 5", .invalidContentLength),
        ("Content-Length: -1", .invalidContentLength),
    ])
    func refusesMalformedFieldLines(_ line: String, _ error: HTTPParseError) {
        #expect(Wire.responseOutcome(wireHead("HTTP/1.1 200 OK", line)) == .refused(error))
    }

    // MARK: - Framing

    @Test(
        arguments: [
            // (status line, fields, request was HEAD, framing, upstream closes)
            ("HTTP/1.1 200 OK", ["Content-Length: 5"], false, MessageFraming.contentLength(5), false),
            ("HTTP/1.1 200 OK", ["Content-Length: 0"], false, .none, false),
            ("HTTP/1.1 200 OK", ["Content-Length: 5", "Content-Length: 5"], false, .contentLength(5), false),
            ("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"], false, .chunked, false),
            ("HTTP/1.1 200 OK", ["Transfer-Encoding: gzip, chunked"], false, .chunked, false),
            ("HTTP/1.1 200 OK", ["Transfer-Encoding: CHUNKED"], false, .chunked, false),
            // A final coding other than chunked: the body runs until close (RFC 9112 §6.3 item 4).
            ("HTTP/1.1 200 OK", ["Transfer-Encoding: gzip"], false, .untilClose, true),
            ("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked, gzip"], false, .untilClose, true),
            ("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked, chunked"], false, .untilClose, true),
            // Neither length nor coding.
            ("HTTP/1.1 200 OK", [], false, .untilClose, true),
            ("HTTP/1.1 500 Oops", ["Content-Type: text/plain"], false, .untilClose, true),
            // No body whatever the fields say: HEAD, 1xx, 204, 304 (RFC 9112 §6.3 item 1).
            ("HTTP/1.1 200 OK", ["Content-Length: 100"], true, .none, false),
            ("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"], true, .none, false),
            ("HTTP/1.1 200 OK", [], true, .none, false),
            ("HTTP/1.1 100 Continue", [], false, .none, false),
            ("HTTP/1.1 101 Switching Protocols", ["Connection: Upgrade", "Upgrade: websocket"], false, .none, false),
            ("HTTP/1.1 103 Early Hints", ["Link: </a.css>; rel=preload"], false, .none, false),
            ("HTTP/1.1 199 Whatever", ["Content-Length: 5"], false, .none, false),
            ("HTTP/1.1 204 No Content", ["Content-Length: 5"], false, .none, false),
            ("HTTP/1.1 204 No Content", [], false, .none, false),
            ("HTTP/1.1 304 Not Modified", ["Content-Length: 5000"], false, .none, false),
            ("HTTP/1.1 304 Not Modified", ["Transfer-Encoding: chunked"], false, .none, false),
            // Connection: close and HTTP/1.0 reuse rules (RFC 9112 §9.3).
            ("HTTP/1.1 200 OK", ["Content-Length: 5", "Connection: close"], false, .contentLength(5), true),
            ("HTTP/1.1 200 OK", ["Content-Length: 5", "Connection: keep-alive, Close"], false, .contentLength(5), true),
            ("HTTP/1.1 200 OK", ["Content-Length: 5", "Connection: keep-alive"], false, .contentLength(5), false),
            ("HTTP/1.0 200 OK", ["Content-Length: 5"], false, .contentLength(5), true),
            ("HTTP/1.0 200 OK", ["Content-Length: 5", "Connection: keep-alive"], false, .contentLength(5), false),
            ("HTTP/1.0 200 OK", ["Content-Length: 5", "Connection: Keep-Alive", "Keep-Alive: timeout=5"], false, .contentLength(5), false),
            ("HTTP/1.0 200 OK", [], false, .untilClose, true),
            ("HTTP/1.0 200 OK", ["Connection: keep-alive"], false, .untilClose, true),
            ("HTTP/1.0 204 No Content", [], false, .none, true),
            ("HTTP/1.0 200 OK", ["Content-Length: 5"], true, .none, true),
        ] as [(String, [String], Bool, MessageFraming, Bool)])
    func framesTheBodyAndDecidesReuse(
        _ statusLine: String, _ fields: [String], _ requestWasHEAD: Bool, _ framing: MessageFraming, _ upstreamCloses: Bool
    ) throws {
        let text = ([statusLine] + fields).map { $0 + "\r\n" }.joined() + "\r\n"
        let parsed = try Wire.response(text, requestWasHEAD: requestWasHEAD)
        #expect(parsed.head.framing == framing)
        #expect(parsed.head.upstreamCloses == upstreamCloses)
    }

    @Test func refusesAmbiguousFramingFromUpstream() {
        #expect(
            Wire.responseOutcome(wireHead("HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked"))
                == .refused(.contentLengthWithTransferEncoding)
        )
        #expect(
            Wire.responseOutcome(wireHead("HTTP/1.1 200 OK", "Transfer-Encoding: gzip", "Content-Length: 5"))
                == .refused(.contentLengthWithTransferEncoding)
        )
        #expect(
            Wire.responseOutcome(wireHead("HTTP/1.1 200 OK", "Content-Length: 5", "Content-Length: 6"))
                == .refused(.conflictingContentLength)
        )
        #expect(
            Wire.responseOutcome(wireHead("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"))
                == .refused(.unsupportedTransferEncoding)
        )
        // Even where no body follows, the head itself is ambiguous about framing and is refused.
        #expect(
            Wire.responseOutcome(wireHead("HTTP/1.1 304 Not Modified", "Content-Length: 5", "Transfer-Encoding: chunked"))
                == .refused(.contentLengthWithTransferEncoding)
        )
    }

    @Test func transferEncodingInAnHTTP10ResponseMeansCloseAfterIt() throws {
        // RFC 9112 §6.1: a recipient of an HTTP/1.0 message with Transfer-Encoding must treat the
        // framing as faulty and close after the message, even if the sender says keep-alive.
        let parsed = try Wire.response(wireHead("HTTP/1.0 200 OK", "Transfer-Encoding: chunked", "Connection: keep-alive"))
        #expect(parsed.head.upstreamCloses)
    }

    // MARK: - Hop-by-hop fields

    @Test(
        arguments: [
            (["Content-Length: 0"], false),
            (["Content-Length: 0", "X-Connection: close"], false),
            (["Content-Length: 0", "Connection: keep-alive"], true),
            (["Content-Length: 0", "connection: close"], true),
            (["Content-Length: 0", "Keep-Alive: timeout=5"], true),
            (["Content-Length: 0", "Proxy-Connection: keep-alive"], true),
            (["Content-Length: 0", "Connection:"], true),
            (["Content-Length: 0", "TE: trailers"], false),
            (["Content-Length: 0", "Upgrade: h2c"], false),
        ] as [([String], Bool)])
    func detectsHopByHopFields(_ fields: [String], _ hasHopByHop: Bool) throws {
        let text = (["HTTP/1.1 200 OK"] + fields).map { $0 + "\r\n" }.joined() + "\r\n"
        let parsed = try Wire.response(text)
        #expect(parsed.head.hasHopByHopFields == hasHopByHop)
        #expect(ResponseHeadWriter.needsRewrite(parsed.head, closingClient: false) == hasHopByHop)
        #expect(ResponseHeadWriter.needsRewrite(parsed.head, closingClient: true))
    }

    @Test func marksFieldsNamedByConnection() throws {
        let parsed = try Wire.response(wireHead("HTTP/1.1 200 OK", "Connection: X-Secret, close", "X-Secret: 1", "X-Public: 2", "Content-Length: 0"))
        #expect(parsed.head.fields.filter(\.listedInConnection).map { parsed.text($0.name) } == ["X-Secret"])
        #expect(parsed.head.upstreamCloses)
    }

    @Test func reusesTheSameValueForTheNextHead() throws {
        var head = ResponseHead()
        let first = Array(wireHead("HTTP/1.0 200 OK", "Connection: close", "Keep-Alive: x").utf8)
        let second = Array(wireHead("HTTP/1.1 204 No Content").utf8)
        try first.withUnsafeBytes { try head.parse($0, end: $0.count, requestWasHEAD: false) }
        #expect(head.upstreamCloses && head.hasHopByHopFields && head.framing == .untilClose)
        try second.withUnsafeBytes { try head.parse($0, end: $0.count, requestWasHEAD: false) }
        #expect(head.status == 204 && head.version == .http11)
        #expect(!head.upstreamCloses && !head.hasHopByHopFields && head.framing == .none && head.fields.isEmpty)
    }
}
