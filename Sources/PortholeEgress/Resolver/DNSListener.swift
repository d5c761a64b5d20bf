import NIOCore
import NIOPosix
import PortholeDNS

/// The resolver's sockets: UDP and TCP port 53 on one address (RFC 7766: a resolver must answer
/// over both). Each query is answered on a task of its own; the socket's loop never waits.
enum DNSListener {
    static func bind(host: String, port: Int, group: any EventLoopGroup, resolver: EgressResolver) async throws -> [any Channel] {
        let udp = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramHandler(resolver: resolver))
                }
            }
            .bind(host: host, port: port)
            .get()
        do {
            let tcp = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(StreamHandler(resolver: resolver))
                    }
                }
                .bind(host: host, port: port)
                .get()
            return [udp, tcp]
        } catch {
            try? await udp.close()
            throw error
        }
    }

    private final class DatagramHandler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>

        private let resolver: EgressResolver

        init(resolver: EgressResolver) {
            self.resolver = resolver
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let bytes = Array(envelope.data.readableBytesView)
            let client = envelope.remoteAddress
            let channel = context.channel
            let resolver = self.resolver
            Task {
                guard let reply = await resolver.answer(bytes, from: client, overTCP: false) else { return }
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: client, data: channel.allocator.buffer(bytes: reply)), promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A failed send to one client (ICMP unreachable) must not close the resolver's socket.
        }
    }

    private final class StreamHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let resolver: EgressResolver
        private var decoder = DNSTCPFrameDecoder()

        init(resolver: EgressResolver) {
            self.resolver = resolver
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            decoder.append(Array(buffer.readableBytesView))
            guard let client = context.channel.remoteAddress else { return }
            let channel = context.channel
            let resolver = self.resolver
            while let message = decoder.nextMessage() {
                Task {
                    guard let reply = await resolver.answer(message, from: client, overTCP: true),
                        let framed = try? DNSTCPFraming.frame(reply)
                    else { return }
                    channel.writeAndFlush(channel.allocator.buffer(bytes: framed), promise: nil)
                }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
