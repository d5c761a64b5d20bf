import Foundation
import NIOCore
import NIOEmbedded
import NIOSSL
import PortholeTLS
import Testing

/// The OpenSSL server handler against swift-nio-ssl's client handler (a second, independent TLS
/// implementation), both on `EmbeddedChannel`s of one `EmbeddedEventLoop`: the bytes are pumped
/// between them by hand, and time is the loop's manual clock. No socket, no waiting.
@Suite struct TLSServerHandlerInMemoryTests {
    /// Records what the server side passes up: plaintext, events and errors.
    final class ServerRecorder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var plaintext = ""
        var handshakes: [TLSHandshakeCompleted] = []
        var errors: [any Error] = []
        var inputClosed = false

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            plaintext += String(buffer: unwrapInboundIn(data))
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let handshake = event as? TLSHandshakeCompleted { handshakes.append(handshake) }
            if case ChannelEvent.inputClosed = event { inputClosed = true }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            errors.append(error)
        }
    }

    /// Collects the client's plaintext.
    final class ClientRecorder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var plaintext = ByteBuffer()

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            plaintext.writeBuffer(&buffer)
        }
    }

    struct Pair {
        let loop: EmbeddedEventLoop
        let server: EmbeddedChannel
        let client: EmbeddedChannel
        let serverRecorder: ServerRecorder
        let clientRecorder: ClientRecorder

        /// Moves ciphertext both ways until neither side has anything more to send.
        func pump() throws {
            var moved = true
            while moved {
                moved = false
                while let bytes = try client.readOutbound(as: ByteBuffer.self) {
                    if server.isActive { try server.writeInbound(bytes) }
                    moved = true
                }
                while let bytes = try server.readOutbound(as: ByteBuffer.self) {
                    if client.isActive { try client.writeInbound(bytes) }
                    moved = true
                }
            }
        }

        /// Closes both ends as peers do (close_notify both ways), then lets any shutdown timer run
        /// out: the server's close waits for the client's close_notify, and finish() waits for it.
        func finish() {
            client.close(promise: nil)
            try? pump()
            loop.advanceTime(by: .seconds(60))
            _ = try? server.finish(acceptAlreadyClosed: true)
            _ = try? client.finish(acceptAlreadyClosed: true)
        }
    }

    private static func pair(
        _ certificates: TestCertificates, serverName: String, handshakeTimeout: TimeAmount = .seconds(10)
    ) throws -> Pair {
        let loop = EmbeddedEventLoop()
        let store = try TLSCertificateStore(configuration: certificates.configuration(handshakeTimeout: handshakeTimeout))
        let serverRecorder = ServerRecorder()
        let server = EmbeddedChannel(handlers: [try TLSServerHandler(store: store), serverRecorder], loop: loop)
        var clientConfiguration = NIOSSL.TLSConfiguration.makeClientConfiguration()
        clientConfiguration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificates.caPath))
        let clientRecorder = ClientRecorder()
        let client = EmbeddedChannel(
            handlers: [
                try NIOSSLClientHandler(context: NIOSSLContext(configuration: clientConfiguration), serverHostname: serverName),
                clientRecorder,
            ],
            loop: loop
        )
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 443)
        try server.connect(to: address).wait()
        try client.connect(to: address).wait()
        return Pair(loop: loop, server: server, client: client, serverRecorder: serverRecorder, clientRecorder: clientRecorder)
    }

    @Test func handshakeAndDataBothWays() throws {
        let certificates = try TestCertificates()
        let pair = try Self.pair(certificates, serverName: "3000-abc.preview.localhost")
        defer { pair.finish() }
        try pair.pump()
        #expect(pair.serverRecorder.handshakes == [TLSHandshakeCompleted(negotiatedProtocol: nil, serverName: "3000-abc.preview.localhost")])

        try pair.client.writeAndFlush(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n")).wait()
        try pair.pump()
        #expect(pair.serverRecorder.plaintext == "GET / HTTP/1.1\r\n\r\n")

        try pair.server.writeAndFlush(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n")).wait()
        try pair.pump()
        #expect(String(buffer: pair.clientRecorder.plaintext) == "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(pair.serverRecorder.errors.isEmpty)
    }

    /// The client verifies the certificate against the name it asked for: a handshake that
    /// completes proves the server chose the certificate of that name.
    @Test(arguments: ["3000-abc.preview.localhost", "other.example.test"])
    func theCertificateFollowsTheServerName(_ name: String) throws {
        let certificates = try TestCertificates()
        let pair = try Self.pair(certificates, serverName: name)
        defer { pair.finish() }
        try pair.pump()
        #expect(pair.serverRecorder.handshakes.map(\.serverName) == [name])
        #expect(pair.client.isActive)
    }

    @Test func aMebibyteArrivesIntactInRecords() throws {
        let certificates = try TestCertificates()
        let pair = try Self.pair(certificates, serverName: "3000-abc.preview.localhost")
        defer { pair.finish() }
        try pair.pump()
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try pair.server.writeAndFlush(ByteBuffer(bytes: payload)).wait()
        try pair.pump()
        #expect(pair.clientRecorder.plaintext.readableBytesView.elementsEqual(payload))
    }

    @Test func aSilentClientTimesOutOnTheLoopsClock() throws {
        let certificates = try TestCertificates()
        let pair = try Self.pair(certificates, serverName: "x.preview.localhost", handshakeTimeout: .seconds(10))
        defer { pair.finish() }
        // The client's hello is never delivered.
        _ = try pair.client.readOutbound(as: ByteBuffer.self)
        pair.loop.advanceTime(by: .seconds(9))
        #expect(pair.server.isActive)
        pair.loop.advanceTime(by: .seconds(1))
        #expect(!pair.server.isActive)
        #expect(pair.serverRecorder.errors.contains { ($0 as? TLSError) == .handshakeTimeout })
    }

    @Test func garbageInsteadOfAHelloFailsTheHandshake() throws {
        let certificates = try TestCertificates()
        let pair = try Self.pair(certificates, serverName: "x.preview.localhost")
        defer { pair.finish() }
        try pair.server.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(!pair.server.isActive)
        #expect(pair.serverRecorder.errors.contains { ($0 as? TLSError) == .handshakeFailed })
        #expect(pair.serverRecorder.handshakes.isEmpty)
    }

    @Test func aClientsCloseNotifyEndsTheServersInput() throws {
        let certificates = try TestCertificates()
        let pair = try Self.pair(certificates, serverName: "3000-abc.preview.localhost")
        defer { pair.finish() }
        try pair.pump()
        pair.client.close(promise: nil)
        try pair.pump()
        #expect(!pair.server.isActive || pair.serverRecorder.inputClosed)
        #expect(!pair.serverRecorder.errors.contains { ($0 as? TLSError) == .uncleanShutdown })
    }
}
