import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PortholeDNS

/// Sends queries to the upstream resolvers over one UDP socket and matches the answers by ID and
/// by the server they must come from (RFC 5452: an answer from anywhere else is ignored, and the
/// ID is random per query so it cannot be guessed).
final class DNSUpstreamClient: Sendable {
    private let channel: any Channel
    private let pending: NIOLockedValueBox<PendingQueries>
    let servers: [SocketAddress]

    private init(channel: any Channel, pending: NIOLockedValueBox<PendingQueries>, servers: [SocketAddress]) {
        self.channel = channel
        self.pending = pending
        self.servers = servers
    }

    static func start(group: any EventLoopGroup, servers: [SocketAddress]) async throws -> DNSUpstreamClient {
        let pending = NIOLockedValueBox(PendingQueries())
        // One socket per address family in use; IPv4 servers are the common case.
        let family = servers.first?.protocol ?? .inet
        let channel = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AnswerHandler(pending: pending))
                }
            }
            .bind(host: family == .inet6 ? "::" : "0.0.0.0", port: 0)
            .get()
        return DNSUpstreamClient(channel: channel, pending: pending, servers: servers)
    }

    func close() async {
        try? await channel.close()
    }

    /// Sends `query` (built by `make(id)`, with the random ID it is given) to each server in turn
    /// until one answers within `timeout`; the answer's bytes and the ID used.
    func exchange(timeout: Duration, _ make: (UInt16) -> [UInt8]) async throws -> (answer: [UInt8], id: UInt16) {
        var lastError: any Error = DNSUpstreamError.noServer
        for server in servers {
            guard let (id, token) = pending.withLockedValue({ $0.reserve(server: server) }) else {
                lastError = DNSUpstreamError.idInUse
                continue
            }
            do {
                let answer = try await send(make(id), id: id, token: token, to: server, timeout: timeout)
                return (answer, id)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// The same over TCP (RFC 7766), for an answer that did not fit UDP: one connection per query,
    /// to each server in turn.
    func exchangeOverTCP(timeout: Duration, _ make: (UInt16) -> [UInt8]) async throws -> (answer: [UInt8], id: UInt16) {
        var lastError: any Error = DNSUpstreamError.noServer
        for server in servers {
            let id = UInt16.random(in: .min ... .max)
            do {
                return (try await sendOverTCP(make(id), to: server, timeout: timeout), id)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private func sendOverTCP(_ query: [UInt8], to server: SocketAddress, timeout: Duration) async throws -> [UInt8] {
        let framed = try DNSTCPFraming.frame(query)
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: [UInt8].self)
        let timeoutAmount = TimeAmount(timeout)
        let connection = try await ClientBootstrap(group: loop)
            .connectTimeout(timeoutAmount)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StreamAnswerHandler(promise: promise))
                }
            }
            .connect(to: server)
            .get()
        let deadline = loop.scheduleTask(in: timeoutAmount) { promise.fail(DNSUpstreamError.timeout(server)) }
        connection.writeAndFlush(connection.allocator.buffer(bytes: framed), promise: nil)
        defer {
            deadline.cancel()
            connection.close(promise: nil)
        }
        return try await promise.futureResult.get()
    }

    /// Reads one length-prefixed answer, then is done.
    private final class StreamAnswerHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let promise: EventLoopPromise<[UInt8]>
        private var decoder = DNSTCPFrameDecoder()

        init(promise: EventLoopPromise<[UInt8]>) {
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            decoder.append(unwrapInboundIn(data).readableBytesView)
            if let message = decoder.nextMessage() { promise.succeed(message) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(DNSUpstreamError.closed)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }

    private func send(_ bytes: [UInt8], id: UInt16, token: UInt64, to server: SocketAddress, timeout: Duration) async throws -> [UInt8] {
        let pending = self.pending
        let channel = self.channel
        return try await withCheckedThrowingContinuation { continuation in
            guard pending.withLockedValue({ $0.attach(continuation, id: id, token: token) }) else {
                continuation.resume(throwing: DNSUpstreamError.idInUse)
                return
            }
            let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { () -> Void in
                let expired = pending.withLockedValue { $0.take(id: id, token: token) }
                expired?.continuation?.resume(throwing: DNSUpstreamError.timeout(server))
            }
            if !pending.withLockedValue({ $0.attach(timer: timer, id: id, token: token) }) { timer.cancel() }
            let envelope = AddressedEnvelope(remoteAddress: server, data: channel.allocator.buffer(bytes: bytes))
            channel.writeAndFlush(envelope).whenFailure { error in
                guard let entry = pending.withLockedValue({ $0.take(id: id, token: token) }) else { return }
                entry.timer?.cancel()
                entry.continuation?.resume(throwing: error)
            }
        }
    }

    private final class AnswerHandler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>

        private let pending: NIOLockedValueBox<PendingQueries>

        init(pending: NIOLockedValueBox<PendingQueries>) {
            self.pending = pending
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard let id = envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt16.self) else { return }
            guard let waiting = pending.withLockedValue({ $0.takeAnswer(id: id, from: envelope.remoteAddress) }) else { return }
            waiting.timer?.cancel()
            waiting.continuation?.resume(returning: Array(envelope.data.readableBytesView))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // ICMP port unreachable and the like: the pending query times out and the next server is tried.
        }
    }
}

enum DNSUpstreamError: Error, CustomStringConvertible {
    case noServer
    case idInUse
    case timeout(SocketAddress)
    case closed

    var description: String {
        switch self {
        case .noServer: "no upstream DNS server is configured"
        case .idInUse: "no free query ID (65,536 queries in flight)"
        case .timeout(let server): "the upstream DNS server \(server) did not answer in time"
        case .closed: "the upstream DNS server closed the connection without an answer"
        }
    }
}
