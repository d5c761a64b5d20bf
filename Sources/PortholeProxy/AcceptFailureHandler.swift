import Logging
import NIOCore

/// On each listening socket: NIO reports here (as `errorCaught` on the server channel) every
/// accepted connection it had to close because configuring it failed — a socket option the kernel
/// refused, or the child initializer throwing. Without this handler such a connection is reset
/// with nothing logged and nothing counted, which is how a refused `setsockopt` once broke every
/// non-root deployment unnoticed.
final class AcceptFailureHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    private let listener: String
    private let metrics: ProxyMetrics
    private let logger: Logger

    init(listener: String, metrics: ProxyMetrics, logger: Logger) {
        self.listener = listener
        self.metrics = metrics
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let refusal = error as? ProxyServerError, refusal.isConnectionLimit {
            // Expected under load and counted on its own: not a fault of this process.
            metrics.connectionsOverLimit.increment()
        } else {
            metrics.acceptFailures.increment()
            logger.error(
                "closed an accepted connection: setting it up failed",
                metadata: ["listener": "\(listener)", "error": "\(error)"]
            )
        }
        // Not passed on: the tail of the pipeline would only drop it, and the listener keeps accepting.
    }
}

@available(*, unavailable)
extension AcceptFailureHandler: Sendable {}
