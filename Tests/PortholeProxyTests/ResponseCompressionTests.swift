import NIOCore
import NIOEmbedded
import PortholeCore
@testable import PortholeProxy
import Testing

/// Response compression through the real connection handler, in memory (``InMemoryProxy``):
/// what is compressed, how the head changes, and that every chunk decodes as it arrives.
@Suite struct ResponseCompressionTests {
    /// A JavaScript module of the size dev servers send, repetitive like real code.
    static let script = Array(String(repeating: "export const answer = () => 42; // module text\n", count: 120).utf8)

    /// Compared as text, so a failure prints something readable.
    static func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
    static let scriptText = text(script)

    static func response(_ fields: String..., body: [UInt8] = script) -> String {
        "HTTP/1.1 200 OK\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n" + String(decoding: body, as: UTF8.self)
    }

    @Test func aContentLengthResponseIsGzippedForAClientThatAcceptsIt() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/app.js", "Accept-Encoding: gzip, deflate, br"))
        _ = try proxy.upstreamReceived()
        try proxy.upstreamSends(
            Self.response(
                "Content-Type: text/javascript", "Content-Length: \(Self.script.count)", "ETag: \"v1\"", "Accept-Ranges: bytes",
                "Cache-Control: max-age=60"))
        let answer = try #require(ChunkedResponse(try proxy.receivedBytes()))
        #expect(answer.head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.head.contains("\r\nContent-Encoding: gzip\r\n"))
        #expect(answer.head.contains("\r\nTransfer-Encoding: chunked\r\n"))
        #expect(answer.head.contains("\r\nVary: Accept-Encoding\r\n"))
        #expect(answer.head.contains("\r\nETag: W/\"v1\"\r\n"), "a strong validator would claim the same bytes")
        #expect(answer.head.contains("\r\nCache-Control: max-age=60\r\n"))
        #expect(!answer.head.contains("Content-Length"))
        #expect(!answer.head.contains("Accept-Ranges"))
        #expect(answer.isComplete)
        #expect(Self.text(Inflater(gzip: true).inflate(answer.body)) == Self.scriptText)
        #expect(answer.body.count < Self.script.count / 5)

        // The exchange ended cleanly: the next request goes over the same upstream connection.
        try proxy.send(get("/next"))
        #expect(try proxy.upstreamReceived().hasPrefix("GET /next "))
        #expect(proxy.upstreams.count == 1)
    }

    @Test func eachUpstreamReadLeavesAsAChunkThatDecodesAtOnce() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/stream", "Accept-Encoding: gzip"))
        _ = try proxy.upstreamReceived()
        let inflater = Inflater(gzip: true)
        // A chunked response from the sandbox, in three reads that split its framing oddly.
        try proxy.upstreamSends("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{\"a\":1")
        let first = try proxy.receivedBytes()
        let firstHeadEnd = try #require(String(decoding: first, as: UTF8.self).range(of: "\r\n\r\n"))
        let firstResponse = try #require(ChunkedResponse(first))
        #expect(!firstResponse.isComplete)
        #expect(inflater.inflate(firstResponse.body) == Array("{\"a\":1".utf8), "the first read is not held back")
        _ = firstHeadEnd

        try proxy.upstreamSends("\r\n3\r\n,\"b")
        let second = try proxy.receivedBytes()
        let secondChunks = try #require(ChunkedResponse(Array("HTTP/1.1 200 OK\r\n\r\n".utf8) + second))
        #expect(inflater.inflate(secondChunks.body) == Array(",\"b".utf8))

        try proxy.upstreamSends("\r\n3\r\n\":2\r\n1\r\n}\r\n0\r\nX-Trailer: dropped\r\n\r\n")
        let third = try proxy.receivedBytes()
        let thirdChunks = try #require(ChunkedResponse(Array("HTTP/1.1 200 OK\r\n\r\n".utf8) + third))
        #expect(thirdChunks.isComplete)
        #expect(inflater.inflate(thirdChunks.body) == Array("\":2}".utf8))
        #expect(inflater.ended, "the gzip stream was finished")
        #expect(proxy.client.isActive)
    }

    @Test func aBodyThatEndsWithTheUpstreamsCloseGetsItsLastChunk() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/", "Accept-Encoding: gzip"))
        _ = try proxy.upstreamReceived()
        try proxy.upstreamSends(Self.response("Content-Type: text/html"))
        try proxy.upstreams[0].close().wait()
        let answer = try #require(ChunkedResponse(try proxy.receivedBytes()))
        #expect(answer.head.contains("\r\nConnection: close\r\n"))
        #expect(answer.isComplete)
        #expect(Self.text(Inflater(gzip: true).inflate(answer.body)) == Self.scriptText)
        #expect(!proxy.client.isActive)
    }

    @Test func deflateWhenTheClientPrefersIt() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/data.json", "Accept-Encoding: gzip;q=0.5, deflate"))
        _ = try proxy.upstreamReceived()
        try proxy.upstreamSends(Self.response("Content-Type: application/json", "Content-Length: \(Self.script.count)"))
        let answer = try #require(ChunkedResponse(try proxy.receivedBytes()))
        #expect(answer.head.contains("\r\nContent-Encoding: deflate\r\n"))
        #expect(Self.text(Inflater(gzip: false).inflate(answer.body)) == Self.scriptText)
    }

    @Test func aSandboxLabelTurnsItOff() throws {
        let policy = SandboxPolicy(
            id: InMemoryProxy.sandbox, target: "10.0.0.2", isPublic: true, previewToken: "t", labels: ["porthole.dev/compression": "off"])
        let proxy = try InMemoryProxy(policy: policy)
        defer { proxy.finish() }
        let upstream = Self.response("Content-Type: text/html", "Content-Length: \(Self.script.count)")
        try proxy.send(get("/", "Accept-Encoding: gzip"))
        try proxy.upstreamSends(upstream)
        #expect(try proxy.received() == upstream)
    }

    /// Requests and responses that must pass as the sandbox sent them.
    @Test(arguments: [
        ("no Accept-Encoding", get("/"), response("Content-Type: text/html", "Content-Length: \(script.count)")),
        ("gzip refused", get("/", "Accept-Encoding: gzip;q=0, deflate;q=0"), response("Content-Type: text/html", "Content-Length: \(script.count)")),
        ("only br", get("/", "Accept-Encoding: br"), response("Content-Type: text/html", "Content-Length: \(script.count)")),
        (
            "a Range request", get("/", "Accept-Encoding: gzip", "Range: bytes=0-99"),
            response("Content-Type: text/html", "Content-Length: \(script.count)")
        ),
        (
            "a 206", get("/", "Accept-Encoding: gzip"),
            "HTTP/1.1 206 Partial Content\r\nContent-Type: text/html\r\nContent-Range: bytes 0-1199/5000\r\nContent-Length: 1200\r\n\r\n"
                + String(repeating: "x", count: 1200)
        ),
        ("a 304", get("/", "Accept-Encoding: gzip"), "HTTP/1.1 304 Not Modified\r\nContent-Type: text/html\r\nETag: \"v1\"\r\n\r\n"),
        ("a 204", get("/", "Accept-Encoding: gzip"), "HTTP/1.1 204 No Content\r\nContent-Type: text/html\r\n\r\n"),
        (
            "already encoded", get("/", "Accept-Encoding: gzip"),
            response("Content-Type: text/html", "Content-Encoding: br", "Content-Length: \(script.count)")
        ),
        (
            "no-transform", get("/", "Accept-Encoding: gzip"),
            response("Content-Type: text/html", "Cache-Control: public, no-transform", "Content-Length: \(script.count)")
        ),
        ("an image", get("/", "Accept-Encoding: gzip"), response("Content-Type: image/png", "Content-Length: \(script.count)")),
        ("no Content-Type", get("/", "Accept-Encoding: gzip"), response("Content-Length: \(script.count)")),
        (
            "an event stream", get("/", "Accept-Encoding: gzip"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ndata:\r\n0\r\n\r\n"
        ),
        (
            "below the threshold", get("/", "Accept-Encoding: gzip"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1023\r\n\r\n" + String(repeating: "x", count: 1023)
        ),
    ])
    func passesUntouched(_ why: String, _ request: String, _ upstream: String) throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(request)
        try proxy.upstreamSends(upstream)
        #expect(try proxy.received() == upstream, "\(why)")
    }

    @Test func aHEADRequestKeepsItsHead() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send("HEAD / HTTP/1.1\r\nHost: \(InMemoryProxy.host)\r\nAccept-Encoding: gzip\r\n\r\n")
        let upstream = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n"
        try proxy.upstreamSends(upstream)
        #expect(try proxy.received() == upstream)
    }

    @Test func anHTTP10ClientGetsThePlainBody() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send("GET / HTTP/1.0\r\nHost: \(InMemoryProxy.host)\r\nAccept-Encoding: gzip\r\n\r\n")
        try proxy.upstreamSends(Self.response("Content-Type: text/html", "Content-Length: \(Self.script.count)"))
        let answer = try proxy.received()
        #expect(!answer.contains("Content-Encoding"))
        #expect(answer.hasSuffix(String(decoding: Self.script, as: UTF8.self)))
    }

    @Test func offForEverySandboxWithTheSetting() throws {
        let proxy = try InMemoryProxy(configure: { $0.compression.isEnabled = false })
        defer { proxy.finish() }
        let upstream = Self.response("Content-Type: text/html", "Content-Length: \(Self.script.count)")
        try proxy.send(get("/", "Accept-Encoding: gzip"))
        try proxy.upstreamSends(upstream)
        #expect(try proxy.received() == upstream)
    }

    @Test func brokenChunkFramingCutsTheClientOff() throws {
        let proxy = try InMemoryProxy()
        defer { proxy.finish() }
        try proxy.send(get("/", "Accept-Encoding: gzip"))
        try proxy.upstreamSends("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n")
        let answer = try proxy.receivedBytes()
        #expect(ChunkedResponse(answer)?.isComplete != true, "no complete message may reach the client")
        #expect(!proxy.client.isActive)
    }

    @Test(arguments: [0, 1, 15, 16, 255, 4096, 70_000])
    func chunkSizeLines(_ size: Int) {
        var buffer = ByteBuffer(string: "HEAD")
        var chunk = ResponseCompression.ChunkWriter()
        chunk.begin(in: &buffer)
        buffer.writeRepeatingByte(UInt8(ascii: "z"), count: size)
        chunk.end(in: &buffer, last: true)
        let expected = size == 0 ? "HEAD0\r\n\r\n" : "HEAD" + String(size, radix: 16) + "\r\n" + String(repeating: "z", count: size) + "\r\n0\r\n\r\n"
        #expect(String(buffer: buffer) == expected)
    }
}
