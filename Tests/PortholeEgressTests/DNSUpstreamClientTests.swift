import NIOCore
import NIOPosix
@testable import PortholeEgress
import Testing

/// The resolver's upstream client against a real UDP server on 127.0.0.1 that answers at once.
@Suite("DNSUpstreamClient")
struct DNSUpstreamClientTests {
    /// Echoes every datagram back: an "answer" with the query's ID, from the address asked.
    final class Echo: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }
    }

    /// A timer of an answered query once outlived it and failed whichever later query drew the
    /// same random ID. With a 200 ms timeout and 128 queries in flight, 5,120 queries make such
    /// draws near certain; none may fail early.
    @Test func answeredQueriesLeaveNoTimerBehind() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Echo()) }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let client = try await DNSUpstreamClient.start(group: group, servers: [server.localAddress!])
        // Many queries in flight at once, as a busy resolver has: each late timer then finds
        // one of them holding its old ID now and then. A failure is the bug's only when it comes
        // before the query's own timeout ran out; a slow machine may time out honestly.
        let timeout = Duration.milliseconds(200)
        let (answered, failures) = await withTaskGroup(of: (Int, [String]).self) { group in
            for _ in 0..<128 {
                group.addTask {
                    var answered = 0
                    var failures: [String] = []
                    for _ in 0..<40 {
                        let started = ContinuousClock.now
                        do {
                            let (answer, id) = try await client.exchange(timeout: timeout) { id in
                                [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
                            }
                            if answer.count == 12 && UInt16(answer[0]) << 8 | UInt16(answer[1]) == id { answered += 1 }
                        } catch {
                            let elapsed = ContinuousClock.now - started
                            if elapsed < timeout * 0.9 { failures.append("\(error) after \(elapsed)") }
                        }
                    }
                    return (answered, failures)
                }
            }
            var total = (0, [String]())
            for await (answered, failures) in group {
                total.0 += answered
                total.1 += failures
            }
            return total
        }
        await client.close()
        try await server.close()
        // Of 5,120: an idle machine answers nearly all; CI, running other suites beside this one,
        // has answered as few as 1,125 (honest timeouts). 500 still gives the late timers of
        // hundreds of answered queries the chance to hit a reused ID.
        #expect(answered > 500, "enough answered queries to matter: \(answered)")
        #expect(failures.isEmpty, "\(failures.count) of \(answered + failures.count) failed: \(failures.prefix(3))")
    }

    @Test func aLateTimerCannotEndALaterQueryWithTheSameID() throws {
        let server = try SocketAddress(ipAddress: "192.0.2.53", port: 53)
        var table = PendingQueries()
        let reserved = table.reserve(server: server, random: { 7 })
        let first = try #require(reserved)
        #expect(first.id == 7)
        let ended = table.take(id: 7, token: first.token)
        #expect(ended != nil, "answered or timed out: gone")
        let reservedAgain = table.reserve(server: server, random: { 7 })
        let second = try #require(reservedAgain)
        #expect(second.id == 7 && second.token != first.token)
        let late = table.take(id: 7, token: first.token)
        #expect(late == nil, "the first query's timer fires late: nothing happens")
        #expect(table.count == 1)
        // An ID in use is never handed out twice.
        var draws: [UInt16] = [7, 7, 9]
        let reservedThird = table.reserve(server: server, random: { draws.removeFirst() })
        let third = try #require(reservedThird)
        #expect(third.id == 9)
        // An answer for a query not yet sent, or from another server, ends nothing.
        let unsent = table.takeAnswer(id: 9, from: server)
        #expect(unsent == nil)
        let stranger = table.takeAnswer(id: 7, from: try SocketAddress(ipAddress: "198.51.100.53", port: 53))
        #expect(stranger == nil)
        #expect(table.count == 2)
    }
}
