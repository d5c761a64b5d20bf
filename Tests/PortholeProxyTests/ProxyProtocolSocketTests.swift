import NIOCore
import NIOPosix
@_spi(Benchmarks) @testable import PortholeProxy
import Testing

/// The decoder on real loopback sockets: a header that arrives in separate TCP segments, a server
/// with autoRead off (the decoder must ask for the rest itself), and a refusal the client sees as a close.
@Suite("ProxyProtocolDecoder on sockets")
struct ProxyProtocolSocketTests {
    struct Received: Sendable {
        var header: ProxyProtocolHeader?
        var bytes: [UInt8]
        var error: String?
        var peer: SocketAddress?
    }

    /// Reads with autoRead off, as a handler that manages backpressure does: one `read()` at a time.
    final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let expectedBytes: Int
        private let promise: EventLoopPromise<Received>
        private var received = Received(header: nil, bytes: [], error: nil)

        init(expectedBytes: Int, promise: EventLoopPromise<Received>) {
            self.expectedBytes = expectedBytes
            self.promise = promise
        }

        func channelActive(context: ChannelHandlerContext) {
            received.peer = context.channel.remoteAddress
            context.read()
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let header = event as? ProxyProtocolHeader { received.header = header }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received.bytes += Self.unwrapInboundIn(data).readableBytesView
            if received.bytes.count >= expectedBytes { promise.succeed(received) }
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            context.read()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            received.error = "\(error)"
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.succeed(received)
        }
    }

    private func withServer(
        expectedBytes: Int,
        _ body: (_ port: Int, _ group: any EventLoopGroup, _ result: EventLoopFuture<Received>) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let promise = group.next().makePromise(of: Received.self)
        // Never hang the suite: a stalled decoder fails the test instead.
        let watchdog = group.next().scheduleTask(in: .seconds(30)) { promise.fail(ChannelError.connectTimeout(.seconds(30))) }
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Segmentation is under test here, not the header timeout (tested in memory):
                    // a loaded CI machine once stretched the 50 ms pauses past the 5 s default.
                    try channel.pipeline.syncOperations.addHandler(ProxyProtocolDecoder(headerTimeout: .seconds(60)))
                    try channel.pipeline.syncOperations.addHandler(Collector(expectedBytes: expectedBytes, promise: promise))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        do {
            try await body(server.localAddress!.port!, group, promise.futureResult)
        } catch {
            watchdog.cancel()
            try? await server.close()
            try? await group.shutdownGracefully()
            throw error
        }
        watchdog.cancel()
        try await server.close()
        try await group.shutdownGracefully()
    }

    private func connect(_ port: Int, group: any EventLoopGroup) async throws -> any Channel {
        try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: port)
            .get()
    }

    @Test func headerInSeparateSegmentsWithAutoReadOff() async throws {
        let header = ProxyProtocolBytes.v2(family: 1, payload: ProxyProtocolBytes.ipv4Block([203, 0, 113, 7], [192, 0, 2, 1], 51234, 443))
        let payload = ProxyProtocolBytes.clientHelloStart
        try await withServer(expectedBytes: payload.count) { port, group, result in
            let client = try await connect(port, group: group)
            try await client.writeAndFlush(ByteBuffer(bytes: header[..<7]))
            try await Task.sleep(for: .milliseconds(50))
            try await client.writeAndFlush(ByteBuffer(bytes: header[7..<20]))
            try await Task.sleep(for: .milliseconds(50))
            try await client.writeAndFlush(ByteBuffer(bytes: header[20...] + payload))
            let received = try await result.get()
            #expect(
                received.header
                    == ProxyProtocolHeader(
                        source: try SocketAddress(ipAddress: "203.0.113.7", port: 51234),
                        destination: try SocketAddress(ipAddress: "192.0.2.1", port: 443)))
            #expect(received.bytes == payload)
            #expect(received.error == nil)
            try await client.close()
        }
    }

    @Test func localHeaderReportsTheRealPeer() async throws {
        try await withServer(expectedBytes: 5) { port, group, result in
            let client = try await connect(port, group: group)
            try await client.writeAndFlush(ByteBuffer(bytes: ProxyProtocolBytes.v2(command: 0, family: 0, transport: 0, payload: []) + Array("hello".utf8)))
            let received = try await result.get()
            #expect(received.header?.source == received.peer)
            #expect(received.header?.source == client.localAddress)
            #expect(received.bytes == Array("hello".utf8))
            try await client.close()
        }
    }

    @Test func connectionWithoutHeaderIsClosed() async throws {
        try await withServer(expectedBytes: 1) { port, group, result in
            let client = try await connect(port, group: group)
            try await client.writeAndFlush(ByteBuffer(bytes: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)))
            let received = try await result.get()
            #expect(received.header == nil)
            #expect(received.bytes.isEmpty)
            #expect(received.error == "the connection did not start with a PROXY protocol v1 or v2 header")
            // The client sees the server close the connection.
            try await client.closeFuture.get()
        }
    }
}
