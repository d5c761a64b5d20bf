import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import PortholeCore
@testable import PortholeProxy
import Testing

/// The two translations an HTTP/2 stream goes through: its request header block into the
/// HTTP/1.1 head the connection handler parses, and the handler's HTTP/1.1 response into frames.
@Suite struct HTTP2TranslationTests {
    static let authority = "3000-abc.preview.localhost:8443"

    static func request(_ extra: [(String, String)] = [], method: String = "GET", path: String = "/a?b=1") -> HPACKHeaders {
        HPACKHeaders([(":method", method), (":scheme", "https"), (":authority", authority), (":path", path)] + extra)
    }

    static func head(_ headers: HPACKHeaders, endStream: Bool = true) throws(HTTP2RequestError) -> (String, HTTP2RequestHead.Summary) {
        var buffer = ByteBuffer()
        let summary = try HTTP2RequestHead.write(headers, endStream: endStream, into: &buffer)
        return (String(buffer: buffer), summary)
    }

    // MARK: - Requests

    @Test("a request block becomes an HTTP/1.1 head with Host first and the fields in order")
    func requestHead() throws {
        let (head, summary) = try Self.head(Self.request([("accept", "text/html"), ("x-b", "2")]))
        #expect(head == "GET /a?b=1 HTTP/1.1\r\nhost: \(Self.authority)\r\naccept: text/html\r\nx-b: 2\r\n\r\n")
        #expect(summary == .init(framing: .none, isHEAD: false))
    }

    @Test("cookie crumbs are joined where the first stood; TE is dropped")
    func cookiesAndTE() throws {
        let (head, _) = try Self.head(Self.request([("cookie", "a=1"), ("x", "y"), ("cookie", "b=2"), ("te", "trailers"), ("cookie", "c=3")]))
        #expect(head == "GET /a?b=1 HTTP/1.1\r\nhost: \(Self.authority)\r\ncookie: a=1; b=2; c=3\r\nx: y\r\n\r\n")
    }

    @Test("a body with a length passes as it is; without one it is chunked")
    func bodyFraming() throws {
        let (withLength, lengthSummary) = try Self.head(Self.request([("content-length", "5")], method: "POST"), endStream: false)
        #expect(!withLength.contains("transfer-encoding"))
        #expect(lengthSummary.framing == .contentLength)
        let (chunked, chunkedSummary) = try Self.head(Self.request(method: "POST"), endStream: false)
        #expect(chunked.hasSuffix("transfer-encoding: chunked\r\n\r\n"))
        #expect(chunkedSummary.framing == .chunked)
        #expect(try Self.head(Self.request(method: "HEAD")).1.isHEAD)
    }

    @Test("an extended CONNECT for websocket becomes an HTTP/1.1 upgrade with a key of Porthole's")
    func webSocketRequest() throws {
        var buffer = ByteBuffer()
        let headers = Self.request([(":protocol", "websocket"), ("sec-websocket-version", "13"), ("origin", "https://x")], method: "CONNECT", path: "/ws")
        let summary = try HTTP2RequestHead.write(headers, endStream: false, into: &buffer) { "a2V5a2V5a2V5a2V5a2V5aw==" }
        #expect(summary.framing == .webSocket)
        #expect(
            String(buffer: buffer)
                == "GET /ws HTTP/1.1\r\nhost: \(Self.authority)\r\nconnection: upgrade\r\nupgrade: websocket\r\n"
                + "sec-websocket-key: a2V5a2V5a2V5a2V5a2V5aw==\r\nsec-websocket-version: 13\r\norigin: https://x\r\n\r\n")
        let key = HTTP2RequestHead.webSocketKey()
        #expect(key.count == 24 && key.hasSuffix("==") && key.allSatisfy { $0.isLetter || $0.isNumber || "+/=".contains($0) })
        #expect(key != HTTP2RequestHead.webSocketKey())
    }

    @Test("a Host field may repeat :authority, or stand in for it")
    func hostField() throws {
        #expect(try Self.head(Self.request([("host", Self.authority)])).0.components(separatedBy: "\r\nhost: ").count == 2)
        let withoutAuthority = HPACKHeaders([(":method", "GET"), (":scheme", "https"), (":path", "/"), ("host", "h.example")])
        #expect(try Self.head(withoutAuthority).0.hasPrefix("GET / HTTP/1.1\r\nhost: h.example\r\n"))
    }

    @Test(
        "malformed blocks are refused with a reason",
        arguments: [
            (request([("host", "other.example")]), "different hosts"),
            (HPACKHeaders([(":method", "GET"), (":scheme", "https"), (":path", "/")]), "names no host"),
            (request([("x-a", "b\r\nx-injected: 1")]), "CR, LF or NUL"),
            (request([("x-a", "b\0")]), "CR, LF or NUL"),
            (request(path: "/a b"), ":path"),
            (request(path: ""), ":path"),
            (request(method: "G T"), ":method"),
            (request(method: "CONNECT"), "CONNECT"),
            (HPACKHeaders([(":method", "GET"), (":scheme", "ftp"), (":authority", authority), (":path", "/")]), ":scheme"),
            (request([(":protocol", "websocket")]), ":protocol is only for CONNECT"),
            (request([(":protocol", "webtransport")], method: "CONNECT"), "only websocket"),
            (HPACKHeaders([(":method", "GET"), (":method", "POST"), (":scheme", "https"), (":authority", authority), (":path", "/")]), "more than once"),
            (HPACKHeaders([(":method", "GET"), (":scheme", "https"), (":authority", "a b"), (":path", "/")]), ":authority"),
        ])
    func malformed(headers: HPACKHeaders, reason: String) {
        #expect {
            _ = try Self.head(headers)
        } throws: { error in
            (error as? HTTP2RequestError)?.description.contains(reason) == true
        }
    }

    // MARK: - Responses

    static func frames(_ pieces: [String], head: Bool = false, finish: Bool = false) throws -> ([HTTP2Frame.FramePayload], Bool) {
        var framer = HTTP2ResponseFramer(requestWasHEAD: head)
        var frames: [HTTP2Frame.FramePayload] = []
        for piece in pieces { try framer.frames(for: ByteBuffer(string: piece), into: &frames) }
        var finished = framer.isDone
        if finish { finished = framer.finish(into: &frames) }
        return (frames, finished)
    }

    static func describe(_ frames: [HTTP2Frame.FramePayload]) -> [String] {
        frames.map { frame in
            switch frame {
            case .headers(let headers):
                "HEADERS\(headers.endStream ? "+END" : "") " + headers.headers.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
            case .data(let data):
                if case .byteBuffer(let buffer) = data.data {
                    "DATA\(data.endStream ? "+END" : "") \(String(buffer: buffer))"
                } else {
                    "DATA?"
                }
            default:
                "OTHER"
            }
        }
    }

    @Test("a Content-Length response: HEADERS without hop-by-hop fields, DATA slices, END_STREAM on the last")
    func contentLengthResponse() throws {
        let (frames, done) = try Self.frames([
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nKeep-Alive: timeout=5\r\nContent-Length: 10\r\n\r\nhello", "world",
        ])
        #expect(done)
        #expect(
            Self.describe(frames) == [
                "HEADERS :status=200 content-type=text/plain content-length=10", "DATA hello", "DATA+END world",
            ])
    }

    @Test("a chunked response loses its chunk framing and trailers; the last chunk ends the stream")
    func chunkedResponse() throws {
        let (frames, done) = try Self.frames(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n3\r\nabc\r\n", "0\r\nx-t: 1\r\n\r\n"])
        #expect(done)
        #expect(Self.describe(frames) == ["HEADERS :status=200", "DATA hel", "DATA lo", "DATA abc", "DATA+END "])
    }

    @Test("no body: HEAD, 204 and 304 end the stream with their HEADERS")
    func bodylessResponses() throws {
        #expect(
            Self.describe(try Self.frames(["HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"], head: true).0) == [
                "HEADERS+END :status=200 content-length=1000"
            ])
        #expect(Self.describe(try Self.frames(["HTTP/1.1 204 No Content\r\n\r\n"]).0) == ["HEADERS+END :status=204"])
        #expect(Self.describe(try Self.frames(["HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\n"]).0) == ["HEADERS+END :status=304 etag=\"a\""])
    }

    @Test("interim responses are HEADERS of their own before the final one")
    func interimResponses() throws {
        let (frames, _) = try Self.frames([
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        ])
        #expect(Self.describe(frames) == ["HEADERS :status=100", "HEADERS :status=103 link=</a.css>", "HEADERS :status=200 content-length=2", "DATA+END ok"])
    }

    @Test("a body that runs until close ends the stream when the handler closes; a cut one does not")
    func untilClose() throws {
        let (frames, finished) = try Self.frames(["HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it"], finish: true)
        #expect(finished)
        #expect(Self.describe(frames) == ["HEADERS :status=200", "DATA all of it", "DATA+END "])
        let (_, cut) = try Self.frames(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"], finish: true)
        #expect(!cut)
        let (_, headless) = try Self.frames(["HTTP/1.1 200 OK\r\nContent-"], finish: true)
        #expect(!headless)
    }

    @Test("fields named in Connection and Upgrade do not reach an HTTP/2 client; names are lower case")
    func connectionSpecificFields() throws {
        let (frames, _) = try Self.frames(["HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\nUpgrade: h2c\r\nX-Keep: 2\r\nContent-Length: 0\r\n\r\n"])
        #expect(Self.describe(frames) == ["HEADERS+END :status=200 x-keep=2 content-length=0"])
    }

    @Test("a WebSocket's 101 is a 200 without the accept key; what follows is the tunnel's, until close")
    func webSocketResponse() throws {
        var framer = HTTP2ResponseFramer(requestWasHEAD: false, requestIsWebSocket: true)
        var frames: [HTTP2Frame.FramePayload] = []
        try framer.frames(
            for: ByteBuffer(
                string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc=\r\n"
                    + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n\u{81}\u{02}hi"), into: &frames)
        try framer.frames(for: ByteBuffer(string: "more"), into: &frames)
        let finished = framer.finish(into: &frames)
        #expect(finished)
        #expect(
            Self.describe(frames) == [
                "HEADERS :status=200 sec-websocket-extensions=permessage-deflate", "DATA \u{81}\u{02}hi", "DATA more", "DATA+END ",
            ])
        var refused = HTTP2ResponseFramer(requestWasHEAD: false, requestIsWebSocket: true)
        var refusedWith: HTTP2ResponseError?
        do {
            try refused.frames(for: ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), into: &frames)
        } catch {
            refusedWith = error
        }
        #expect(refusedWith?.description.contains("not a protocol switch") == true)
        var denied = HTTP2ResponseFramer(requestWasHEAD: false, requestIsWebSocket: true)
        frames = []
        try denied.frames(for: ByteBuffer(string: "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nno"), into: &frames)
        #expect(Self.describe(frames) == ["HEADERS :status=401 content-length=2", "DATA+END no"])
    }

    @Test("a protocol switch cannot be carried")
    func switchingProtocols() {
        #expect(throws: HTTP2ResponseError.self) {
            _ = try Self.frames(["HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"])
        }
    }
}

/// ``HTTP2StreamCodec`` in a stream's channel, in memory: what the handler above it reads, and
/// the frames its HTTP/1.1 writes become.
@Suite struct HTTP2StreamCodecTests {
    /// Stands in for the connection handler: keeps what it reads.
    final class Reader: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var text = ""

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            text += String(buffer: unwrapInboundIn(data))
        }
    }

    static func channel(extraFields: String? = nil) throws -> (EmbeddedChannel, Reader) {
        let reader = Reader()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTP2StreamCodec(sendTimeout: .seconds(60), extraFields: extraFields))
        try channel.pipeline.syncOperations.addHandler(reader)
        return (channel, reader)
    }

    static func outbound(_ channel: EmbeddedChannel) throws -> [String] {
        var frames: [HTTP2Frame.FramePayload] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) { frames.append(frame) }
        return HTTP2TranslationTests.describe(frames)
    }

    @Test("a streamed body without a length is read as chunks, trailers included, END_STREAM as the last chunk")
    func chunkedRequestBody() throws {
        let (channel, reader) = try Self.channel()
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HTTP2TranslationTests.request(method: "POST"), endStream: false)))
        try channel.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "hello")), endStream: false)))
        try channel.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "world!")), endStream: false)))
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([("x-sum", "1")]), endStream: true)))
        #expect(reader.text.hasSuffix("transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\nworld!\r\n0\r\nx-sum: 1\r\n\r\n"))
        _ = try? channel.finish()
    }

    @Test("a malformed request is answered 400 by the codec and never read by the handler")
    func malformedRequest() throws {
        let (channel, reader) = try Self.channel()
        try channel.writeInbound(
            HTTP2Frame.FramePayload.headers(.init(headers: HTTP2TranslationTests.request([("host", "elsewhere.example")]), endStream: true)))
        #expect(reader.text.isEmpty)
        let frames = try Self.outbound(channel)
        #expect(frames.first?.hasPrefix("HEADERS :status=400") == true, "\(frames)")
        #expect(frames.last?.hasPrefix("DATA+END {\"status\":400") == true, "\(frames)")
        #expect(frames.last?.contains("different hosts") == true)
        #expect(frames.first?.contains("content-security-policy") == false)
        _ = try? channel.finish()

        // Like every answer of the proxy, it carries --frame-ancestors.
        let ancestors = try FrameAncestors("'self'")
        let (framed, _) = try Self.channel(extraFields: ancestors.fieldLine)
        try framed.writeInbound(
            HTTP2Frame.FramePayload.headers(.init(headers: HTTP2TranslationTests.request([("host", "elsewhere.example")]), endStream: true)))
        let answer = try Self.outbound(framed)
        #expect(answer.first?.contains("content-security-policy=frame-ancestors 'self'") == true, "\(answer)")
        _ = try? framed.finish()
    }

    @Test("the handler's response becomes frames; a close after a complete response waits for its END_STREAM")
    func responseAndClose() throws {
        let (channel, _) = try Self.channel()
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HTTP2TranslationTests.request(), endStream: true)))
        try channel.writeOutbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close"))
        #expect(try Self.outbound(channel) == ["HEADERS :status=200", "DATA until close"])
        channel.close(promise: nil)
        #expect(try Self.outbound(channel) == ["DATA+END "])
        _ = try? channel.finish()
    }

    @Test("a handler that cuts an unfinished response resets the stream instead of ending it")
    func cutResponse() throws {
        let (channel, _) = try Self.channel()
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HTTP2TranslationTests.request(), endStream: true)))
        try channel.writeOutbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"))
        #expect(try Self.outbound(channel) == ["HEADERS :status=200 content-length=10", "DATA half"])
        channel.close(promise: nil)
        #expect(try Self.outbound(channel).allSatisfy { !$0.contains("END") })
        #expect(!channel.isActive)
    }
}
