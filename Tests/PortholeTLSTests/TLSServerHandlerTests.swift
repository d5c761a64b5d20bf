import Foundation
import NIOCore
import NIOPosix
import PortholeTLS
import Testing

/// The handler against real peers (curl and openssl s_client) over real loopback sockets.
@Suite struct TLSServerHandlerTests {
    private func withServer(
        options: ServerOptions = .init(),
        configure: (TestCertificates) -> TLSConfiguration = { $0.configuration() },
        _ body: (TestServer, TestCertificates) async throws -> Void
    ) async throws {
        let certificates = try TestCertificates()
        let store = try TLSCertificateStore(configuration: configure(certificates))
        let server = try await TestServer.start(store: store, options: options)
        do {
            try await body(server, certificates)
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test func curlVerifiesTheWildcardCertificate() async throws {
        try await self.withServer { server, certificates in
            let host = "3000-abc.preview.localhost"
            let result = try await run(
                Peer.curl,
                [
                    "--silent", "--show-error", "--cacert", certificates.caPath,
                    "--resolve", "\(host):\(server.port):127.0.0.1", "https://\(host):\(server.port)/",
                ])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "sni=\(host) alpn=http/1.1\n")

            // The IP address SAN: no SNI is sent for an address, so this is also the default certificate.
            let byAddress = try await run(
                Peer.curl,
                [
                    "--silent", "--show-error", "--cacert", certificates.caPath, "https://127.0.0.1:\(server.port)/",
                ])
            #expect(byAddress.status == 0, "\(byAddress.stderr)")
            #expect(byAddress.stdout == "sni=- alpn=http/1.1\n")
        }
    }

    @Test func tls11IsRefused() async throws {
        try await self.withServer { server, _ in
            // SECLEVEL=0 so the client really offers TLS 1.1 and it is the server that says no.
            let result = try await Peer.handshake(port: server.port, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("alert protocol version"), "\(result.output)")
            try await waitUntil("the server to report the failed handshake") {
                server.events.tlsErrors().contains(.handshakeFailed)
            }
        }
    }

    @Test func certificateIsChosenByServerName() async throws {
        try await self.withServer { server, _ in
            let noSNI = try await Peer.handshake(port: server.port, ["-noservername"])
            #expect(noSNI.stdout.contains("subject=O = Porthole development, CN = *.preview.localhost"), "\(noSNI.output)")

            let other = try await Peer.handshake(port: server.port, ["-servername", "other.example.test"])
            #expect(other.stdout.contains("CN = other.example.test"), "\(other.output)")

            let unknown = try await Peer.handshake(port: server.port, ["-servername", "unknown.example"])
            #expect(unknown.stdout.contains("CN = *.preview.localhost"), "\(unknown.output)")

            let wildcard = try await Peer.handshake(port: server.port, ["-servername", "8080-x.preview.localhost"])
            #expect(wildcard.stdout.contains("CN = *.preview.localhost"), "\(wildcard.output)")
        }
    }

    @Test func tls13AndTls12BothNegotiate() async throws {
        try await self.withServer { server, certificates in
            let tls13 = try await Peer.handshake(port: server.port, ["-tls1_3", "-CAfile", certificates.caPath])
            #expect(tls13.stdout.contains("New, TLSv1.3, Cipher is TLS_AES_"), "\(tls13.output)")
            #expect(tls13.stdout.contains("Verify return code: 0 (ok)"))

            let tls12 = try await Peer.handshake(port: server.port, ["-tls1_2", "-CAfile", certificates.caPath])
            #expect(tls12.stdout.contains("New, TLSv1.2, Cipher is ECDHE-ECDSA-AES"), "\(tls12.output)")
            #expect(tls12.stdout.contains("Compression: NONE"))
            #expect(tls12.stdout.contains("Verify return code: 0 (ok)"))

            // A client that offers only CBC suites finds nothing to agree on.
            let cbc = try await Peer.handshake(port: server.port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"])
            #expect(cbc.status != 0)
        }
    }

    @Test func alpnSelectsHTTP11AndIgnoresUnknownProtocols() async throws {
        try await self.withServer { server, _ in
            let http = try await Peer.handshake(port: server.port, ["-alpn", "h2,http/1.1"])
            #expect(http.stdout.contains("ALPN protocol: http/1.1"), "\(http.output)")

            let unknown = try await Peer.handshake(port: server.port, ["-alpn", "spdy/3,foo"])
            #expect(unknown.stdout.contains("No ALPN negotiated"), "\(unknown.output)")
            #expect(unknown.stdout.contains("New, TLSv1.3"))

            try await waitUntil("both handshakes") { server.events.handshakes.current.count == 2 }
            #expect(server.events.handshakes.current.map(\.negotiatedProtocol).contains(nil))
        }
    }

    @Test func sessionTicketsResume() async throws {
        try await self.withServer { server, certificates in
            let session = certificates.directory.file("session.pem")
            // A request with Connection: close keeps s_client reading until the server closes, so it
            // has received the TLS 1.3 tickets (sent after the handshake) before saving the session.
            let request = Data("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
            let client = ["s_client", "-connect", "127.0.0.1:\(server.port)", "-ign_eof"]
            for version in ["-tls1_2", "-tls1_3"] {
                let first = try await run(Peer.openssl, client + [version, "-sess_out", session], input: request)
                #expect(first.stdout.contains("New, TLSv1."), "\(first.output)")
                let second = try await run(Peer.openssl, client + [version, "-sess_in", session], input: request)
                #expect(second.stdout.contains("Reused, TLSv1."), "\(version): \(second.output)")
            }
        }
    }

    @Test(arguments: [true, false])
    func largeBodiesRoundTripIntact(autoRead: Bool) async throws {
        try await self.withServer(options: ServerOptions(autoRead: autoRead)) { server, certificates in
            let upload = certificates.directory.file("upload.bin")
            let download = certificates.directory.file("download.bin")
            let bytes = pseudoRandomBytes(count: 6 * 1024 * 1024 + 123)
            try bytes.write(to: URL(fileURLWithPath: upload))

            let host = "3000-abc.preview.localhost"
            let result = try await run(
                Peer.curl,
                [
                    "--silent", "--show-error", "--cacert", certificates.caPath, "-H", "Expect:",
                    "--resolve", "\(host):\(server.port):127.0.0.1", "--data-binary", "@\(upload)",
                    "-o", download, "https://\(host):\(server.port)/echo",
                ], timeout: 60)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: download)) == bytes)
        }
    }

    /// Connections on one loop take turns with one ciphertext buffer; concurrent large echoes (the
    /// socket pushes back, so a buffer is still held when the next connection writes) must neither
    /// mix nor lose bytes.
    @Test func connectionsSharingAWriteBufferKeepTheirBytesApart() async throws {
        try await self.withServer(options: ServerOptions(sharedWriteBuffer: true)) { server, certificates in
            let host = "3000-abc.preview.localhost"
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        let upload = certificates.directory.file("upload-\(index).bin")
                        let download = certificates.directory.file("download-\(index).bin")
                        var bytes = pseudoRandomBytes(count: 3 * 1024 * 1024 + index * 977)
                        bytes[0] = UInt8(index)
                        try bytes.write(to: URL(fileURLWithPath: upload))
                        let result = try await run(
                            Peer.curl,
                            [
                                "--silent", "--show-error", "--cacert", certificates.caPath, "-H", "Expect:",
                                "--resolve", "\(host):\(server.port):127.0.0.1", "--data-binary", "@\(upload)",
                                "--limit-rate", "4M", "-o", download, "https://\(host):\(server.port)/echo",
                            ], timeout: 60)
                        #expect(result.status == 0, "\(result.stderr)")
                        #expect(try Data(contentsOf: URL(fileURLWithPath: download)) == bytes)
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func closeSendsCloseNotify() async throws {
        try await self.withServer { server, _ in
            let result = try await run(
                Peer.openssl,
                ["s_client", "-connect", "127.0.0.1:\(server.port)", "-msg", "-ign_eof", "-servername", "a.preview.localhost"],
                input: Data("GET / HTTP/1.1\r\nHost: a.preview.localhost\r\nConnection: close\r\n\r\n".utf8)
            )
            #expect(result.stdout.contains("sni=a.preview.localhost alpn=-"), "\(result.output)")
            #expect(result.stdout.contains("<<< TLS 1.3, Alert [length 0002], warning close_notify"), "\(result.output)")
            try await waitUntil("the connection to close") { server.events.closedConnections.current == 1 }
            #expect(server.events.tlsErrors().isEmpty, "\(server.events.errors.current)")
        }
    }

    @Test func closeWaitsForThePeerOnlyUntilTheShutdownTimeout() async throws {
        try await self.withServer(configure: { $0.configuration(shutdownTimeout: .milliseconds(500)) }) { server, _ in
            let peer = try PeerProcess(Peer.openssl, ["s_client", "-connect", "127.0.0.1:\(server.port)", "-quiet"])
            defer { peer.kill() }
            await peer.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try await peer.waitForOutput(containing: "sni=-")
            peer.stop()  // it will never answer our close_notify

            let channel = try #require(server.events.channels.current.first)
            let closing = ContinuousClock.now
            try await channel.close()  // completes when the handler really closes
            let waited = ContinuousClock.now - closing
            #expect(waited >= .milliseconds(450), "closed after \(waited)")
            #expect(waited < .seconds(5))
            #expect(server.events.errors.current.isEmpty, "\(server.events.errors.current)")
        }
    }

    @Test func peerCloseNotifyClosesCleanly() async throws {
        try await self.withServer { server, _ in
            // With nothing on stdin, s_client sends close_notify right after the handshake.
            let result = try await Peer.handshake(port: server.port, ["-msg"])
            #expect(result.stdout.contains(">>> TLS 1.3, Alert [length 0002], warning close_notify"), "\(result.output)")
            try await waitUntil("the connection to close") { server.events.closedConnections.current == 1 }
            #expect(server.events.errors.current.isEmpty, "\(server.events.errors.current)")
        }
    }

    @Test func writesBeforeTheHandshakeAreReplayed() async throws {
        try await self.withServer(options: ServerOptions(greeting: "hello before handshake\n")) { server, _ in
            let peer = try PeerProcess(Peer.openssl, ["s_client", "-connect", "127.0.0.1:\(server.port)", "-quiet"])
            defer { peer.kill() }
            try await peer.waitForOutput(containing: "hello before handshake")
        }
    }

    @Test func uncleanShutdownIsReported() async throws {
        try await self.withServer { server, _ in
            let peer = try PeerProcess(Peer.openssl, ["s_client", "-connect", "127.0.0.1:\(server.port)", "-quiet"])
            await peer.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try await peer.waitForOutput(containing: "sni=-")
            peer.kill()  // the kernel closes its socket: TCP FIN without close_notify
            try await waitUntil("peer exit") { !peer.isRunning }
            try await waitUntil("the unclean shutdown") { server.events.tlsErrors().contains(.uncleanShutdown) }
            try await waitUntil("the connection to close") { server.events.closedConnections.current == 1 }
        }
    }

    @Test func handshakeTimeoutClosesTheConnection() async throws {
        try await self.withServer(configure: { $0.configuration(handshakeTimeout: .milliseconds(200)) }) { server, _ in
            // A TCP client that never says hello.
            let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: server.port)
                .get()
            try await client.closeFuture.get()
            #expect(server.events.tlsErrors() == [.handshakeTimeout])
        }
    }
}

/// Fast, seeded noise (a 64-bit LCG): any reordering, loss or duplication of a chunk shows.
func pseudoRandomBytes(count: Int) -> Data {
    var state = UInt64.random(in: 1...UInt64.max)
    var bytes = [UInt8](repeating: 0, count: count)
    for index in 0..<count {
        if index % 8 == 0 { state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
        bytes[index] = UInt8(truncatingIfNeeded: state >> ((index % 8) * 8))
    }
    return Data(bytes)
}
