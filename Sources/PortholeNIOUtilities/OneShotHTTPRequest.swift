public import NIOCore
public import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 request on a connection of its own, closed after the answer: for calls that are
/// rare and small (the admin CLI's, the wake webhook's), where a pool would buy nothing and cost
/// state.
public enum OneShotHTTPRequest {
    public enum Failure: Error, Sendable, Hashable {
        /// No connection could be made: nothing was sent.
        case connectionFailed(String)
        case timedOut
        /// The connection closed before a complete response.
        case incompleteResponse
        case responseTooLarge(limit: Int)
    }

    /// Sends `head` (and `body`, in the same write) to `host:port` and returns the final status
    /// and the body. `host` may be an IPv6 address in brackets.
    public static func send(
        host: String,
        port: Int,
        head: HTTPRequestHead,
        body: [UInt8]?,
        timeout: Duration,
        maximumResponseBytes: Int = 16 * 1024 * 1024,
        group: any EventLoopGroup
    ) async throws -> (status: Int, body: [UInt8]) {
        try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { tasks in
            tasks.addTask {
                try await exchange(host: host, port: port, head: head, body: body, maximumResponseBytes: maximumResponseBytes, group: group)
            }
            tasks.addTask {
                try await Task.sleep(for: timeout)
                throw Failure.timedOut
            }
            defer { tasks.cancelAll() }
            let (status, received) = try await tasks.next()!
            return (status, received)
        }
    }

    private static func exchange(
        host: String, port: Int, head: HTTPRequestHead, body: [UInt8]?, maximumResponseBytes: Int, group: any EventLoopGroup
    ) async throws -> (Int, [UInt8]) {
        let address = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .connect(host: address, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure.connectionFailed("\(error)")
        }
        return try await channel.executeThenClose { inbound, outbound in
            // One write for the whole request: the server may answer and close (Connection: close)
            // as soon as the body is in, and a separate write of `.end` after that would fail.
            var parts: [HTTPClientRequestPart] = [.head(head)]
            if let body { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            parts.append(.end(nil))
            try await outbound.write(contentsOf: parts)

            var status: Int?
            var received: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let responseHead):
                    // 1xx interim answers (100 Continue) are not the response.
                    if responseHead.status.code >= 200 { status = Int(responseHead.status.code) }
                case .body(let buffer):
                    received += buffer.readableBytesView
                    guard received.count <= maximumResponseBytes else { throw Failure.responseTooLarge(limit: maximumResponseBytes) }
                case .end:
                    if let status { return (status, received) }
                }
            }
            throw Failure.incompleteResponse
        }
    }
}
