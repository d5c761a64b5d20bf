@_spi(Benchmarks) @testable import PortholeProxy
import Testing

/// The response head the client sees when the proxy has to change it.
@Suite struct ResponseHeadWriterTests {
    private static func rewrite(_ text: String, closingClient: Bool) throws -> String {
        let parsed = try Wire.response(text)
        return String(decoding: Wire.rewriteResponse(parsed, closingClient: closingClient), as: UTF8.self)
    }

    @Test func dropsHopByHopFieldsAndKeepsTheRestByteForByte() throws {
        let output = try Self.rewrite(
            wireHead(
                "HTTP/1.1 200 Fine  Thanks", "Connection: keep-alive, X-Internal", "Keep-Alive: timeout=5", "Content-Type: text/html",
                "proxy-connection: keep-alive", "X-Internal: secret", "Set-Cookie: a=1; Path=/", "Content-Length: 12"
            ), closingClient: false)
        #expect(
            output
                == wireHead(
                    "HTTP/1.1 200 Fine  Thanks", "Content-Type: text/html", "Set-Cookie: a=1; Path=/", "Content-Length: 12"
                ))
    }

    /// RFC 9110 §8.6: no Content-Length (nor Transfer-Encoding) in a 204; a 304 keeps its length.
    @Test func a204LosesItsFramingFields() throws {
        let parsed = try Wire.response(wireHead("HTTP/1.1 204 No Content", "Content-Length: 17", "X-A: 1"))
        #expect(ResponseHeadWriter.needsRewrite(parsed.head, closingClient: false))
        let output = try Self.rewrite(wireHead("HTTP/1.1 204 No Content", "Content-Length: 17", "X-A: 1"), closingClient: false)
        #expect(output == wireHead("HTTP/1.1 204 No Content", "X-A: 1"))
        let chunked = try Self.rewrite(wireHead("HTTP/1.1 204 No Content", "Transfer-Encoding: chunked"), closingClient: false)
        #expect(chunked == wireHead("HTTP/1.1 204 No Content"))
        let notModified = try Wire.response(wireHead("HTTP/1.1 304 Not Modified", "Content-Length: 17"))
        #expect(!ResponseHeadWriter.needsRewrite(notModified.head, closingClient: false))
    }

    @Test func saysCloseWhenTheProxyWillClose() throws {
        let output = try Self.rewrite(wireHead("HTTP/1.0 200 OK", "Server: dev", "Connection: keep-alive"), closingClient: true)
        #expect(output == wireHead("HTTP/1.1 200 OK", "Server: dev", "Connection: close"))
    }

    /// RFC 9110 §6.2: the version in a status line is the sender's, and the proxy is the sender.
    @Test func anHTTP10UpstreamIsAnsweredInHTTP11() throws {
        let parsed = try Wire.response(wireHead("HTTP/1.0 404 Not  Found", "Content-Length: 3"))
        #expect(ResponseHeadWriter.needsRewrite(parsed.head, closingClient: false))
        let output = try Self.rewrite(wireHead("HTTP/1.0 404 Not  Found", "Content-Length: 3"), closingClient: false)
        #expect(output == wireHead("HTTP/1.1 404 Not  Found", "Content-Length: 3"))
        let bare = try Self.rewrite("HTTP/1.0 200\r\n\r\n", closingClient: true)
        #expect(bare == wireHead("HTTP/1.1 200", "Connection: close"))
        let current = try Wire.response(wireHead("HTTP/1.1 200 OK", "Content-Length: 3"))
        #expect(!ResponseHeadWriter.needsRewrite(current.head, closingClient: false), "an HTTP/1.1 head still goes byte for byte")
    }

    @Test func keepsTheStatusLineExactly() throws {
        let bytes = wireHeadBytes(Array("HTTP/1.1 404 ".utf8) + [0xC9, 0x80], Array("Connection: close".utf8))
        let parsed = try Wire.parseResponse(bytes).get()
        let output = Wire.rewriteResponse(parsed, closingClient: false)
        #expect(output == Array(bytes[..<parsed.head.statusLineEnd]) + [0x0D, 0x0A])
    }

    @Test(arguments: [
        ["HTTP/1.1 200 OK", "Content-Length: 5", "Connection: Content-Length"],
        ["HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Connection: transfer-encoding"],
        ["HTTP/1.1 200 OK", "Content-Length: 5", "Connection: close"],
        ["HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Keep-Alive: timeout=1"],
        ["HTTP/1.1 200 OK", "Connection: close"],
    ])
    func rewrittenHeadFramesTheBodyAsTheProxyDoes(_ lines: [String]) throws {
        // The proxy relays the body by the framing it parsed; the client must read the same framing,
        // or an untrusted upstream could make the client misread where responses end.
        let parsed = try Wire.response(lines.map { $0 + "\r\n" }.joined() + "\r\n")
        for closingClient in [false, true] {
            let output = Wire.rewriteResponse(parsed, closingClient: closingClient)
            let reparsed = try Wire.parseResponse(output).get()
            #expect(reparsed.head.framing == parsed.head.framing, "\(String(decoding: output, as: UTF8.self))")
            #expect(reparsed.head.status == parsed.head.status)
            #expect(reparsed.head.upstreamCloses == closingClient || reparsed.head.framing == .untilClose)
        }
    }
}
