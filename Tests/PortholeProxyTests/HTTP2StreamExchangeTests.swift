import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import PortholeCore
@testable import PortholeProxy
import Testing

/// One HTTP/2 stream through the real ``ProxyConnectionHandler`` and its ``HTTP2StreamCodec``, in
/// memory (``InMemoryProxy``): what the sandbox receives, what the client gets back, and the
/// send timeout on a manual clock, for a stream and for an HTTP/1.1 connection.
@Suite struct HTTP2StreamExchangeTests {
    static func headers(_ path: String, _ extra: [(String, String)] = [], method: String = "GET") -> HTTP2Frame.FramePayload {
        .headers(
            .init(
                headers: HPACKHeaders([(":method", method), (":scheme", "https"), (":authority", InMemoryProxy.host), (":path", path)] + extra),
                endStream: true))
    }

    static func frames(_ proxy: InMemoryProxy) throws -> [String] {
        var frames: [HTTP2Frame.FramePayload] = []
        while let frame = try proxy.client.readOutbound(as: HTTP2Frame.FramePayload.self) { frames.append(frame) }
        return HTTP2TranslationTests.describe(frames)
    }

    @Test("a stream's request reaches the sandbox as HTTP/1.1 with the usual fields; its answer comes back as frames")
    func exchange() throws {
        let proxy = try InMemoryProxy(http2Stream: true)
        defer { proxy.finish() }
        try proxy.client.writeInbound(Self.headers("/app.js?x=1", [("cookie", "a=1"), ("cookie", "b=2")]))
        let upstream = try proxy.upstreamReceived()
        #expect(upstream.hasPrefix("GET /app.js?x=1 HTTP/1.1\r\nhost: \(InMemoryProxy.host)\r\ncookie: a=1; b=2\r\n"), "\(upstream)")
        #expect(upstream.contains("\r\nX-Forwarded-Proto: https\r\n") && upstream.contains("\r\nX-Forwarded-For: 192.0.2.7\r\n"))
        try proxy.upstreamSends("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: image/png\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        let frames = try Self.frames(proxy)
        #expect(frames == ["HEADERS :status=200 content-type=image/png", "DATA+END abc"])
        // The exchange is the stream's only one: the handler closes it once END_STREAM is out.
        #expect(!proxy.client.isActive)
        #expect(proxy.upstreams[0].isActive, "the sandbox connection goes back to the pool")
    }

    @Test("a private sandbox without a token: the stream gets the proxy's 401, the sandbox nothing")
    func denied() throws {
        let proxy = try InMemoryProxy(
            policy: SandboxPolicy(id: InMemoryProxy.sandbox, target: "10.0.0.2", isPublic: false, previewToken: "secret-token"),
            http2Stream: true)
        defer { proxy.finish() }
        try proxy.client.writeInbound(Self.headers("/"))
        let frames = try Self.frames(proxy)
        #expect(frames.first?.hasPrefix("HEADERS :status=401") == true, "\(frames)")
        #expect(frames.last?.hasPrefix("DATA+END {\"status\":401") == true, "\(frames)")
        #expect(proxy.upstreams.isEmpty)
    }

    @Test("a stream whose window stays shut is reset after the send timeout, and its sandbox connection closed")
    func streamSendTimeout() throws {
        let proxy = try InMemoryProxy(configure: { $0.sendTimeout = .seconds(60) }, http2Stream: true)
        defer { proxy.finish() }
        try proxy.client.writeInbound(Self.headers("/big"))
        try proxy.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + String(repeating: "x", count: 1000))
        _ = try Self.frames(proxy)
        proxy.client.isWritable = false
        proxy.client.pipeline.fireChannelWritabilityChanged()
        proxy.loop.advanceTime(by: .seconds(59))
        #expect(proxy.client.isActive)
        proxy.loop.advanceTime(by: .seconds(1))
        #expect(!proxy.client.isActive, "reset")
        #expect(!proxy.upstreams[0].isActive, "a half-sent body cannot be reused")
        #expect(proxy.context.metrics.render().contains("porthole_client_send_timeouts_total 1"))
    }

    @Test("an HTTP/1.1 client that takes nothing is cut off after the send timeout; one that takes again is not")
    func connectionSendTimeout() throws {
        let proxy = try InMemoryProxy(configure: { $0.sendTimeout = .seconds(60) })
        defer { proxy.finish() }
        try proxy.send(get("/big"))
        try proxy.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + String(repeating: "x", count: 1000))
        _ = try proxy.received()
        proxy.client.isWritable = false
        proxy.client.pipeline.fireChannelWritabilityChanged()
        proxy.loop.advanceTime(by: .seconds(30))
        // It took some: the clock starts again at the next stall.
        proxy.client.isWritable = true
        proxy.client.pipeline.fireChannelWritabilityChanged()
        proxy.client.isWritable = false
        proxy.client.pipeline.fireChannelWritabilityChanged()
        proxy.loop.advanceTime(by: .seconds(59))
        #expect(proxy.client.isActive)
        proxy.loop.advanceTime(by: .seconds(1))
        #expect(!proxy.client.isActive)
        #expect(!proxy.upstreams[0].isActive)
    }
}
