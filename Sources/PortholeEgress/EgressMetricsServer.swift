public import NIOCore
import NIOHTTP1
import NIOPosix

/// `GET /metrics` (Prometheus text) and `GET /healthz` of `porthole egress`, on an operator-chosen
/// address (`--metrics-address`, loopback by default in deploy/). Nothing else is served.
public enum EgressMetricsServer {
    /// Binds `host:port` and answers with `render()`'s text; returns the channel (close it to stop)
    /// and the bound port.
    public static func start(
        host: String, port: Int, group: any EventLoopGroup, render: @escaping @Sendable () async -> String
    ) async throws -> (channel: any Channel, port: Int) {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Handler(render: render))
                    }
                }
            }
            .bind(host: host, port: port)
            .get()
        return (channel, channel.localAddress?.port ?? port)
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let render: @Sendable () async -> String
        private var path = ""

        init(render: @escaping @Sendable () async -> String) {
            self.render = render
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                path = head.method == .GET ? head.uri : ""
            case .body:
                break
            case .end:
                let path = self.path
                let render = self.render
                let channel = context.channel
                Task {
                    let (status, body): (HTTPResponseStatus, String) =
                        switch path {
                        case "/metrics": (.ok, await render())
                        case "/healthz": (.ok, "ok\n")
                        default: (.notFound, "not found: GET /metrics or /healthz\n")
                        }
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: path == "/metrics" ? "text/plain; version=0.0.4" : "text/plain")
                    headers.add(name: "Content-Length", value: String(body.utf8.count))
                    headers.add(name: "Connection", value: "close")
                    channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)), promise: nil)
                    channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(string: body))), promise: nil)
                    channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
                }
            }
        }
    }
}
