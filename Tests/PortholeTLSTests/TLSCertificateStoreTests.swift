import Foundation
import PortholeTLS
import PortholeTestSupport
import Testing

@Suite struct TLSCertificateStoreTests {
    /// Certificates served from fixed "live" paths, with a second certificate ready to be swapped in.
    private struct LiveFiles {
        let certificates: TestCertificates
        let certificatePath: String
        let keyPath: String
        var configuration: TLSConfiguration {
            TLSConfiguration(certificates: [.init(certificateChainPath: self.certificatePath, privateKeyPath: self.keyPath)])
        }

        init() throws {
            self.certificates = try TestCertificates()
            self.certificatePath = self.certificates.directory.file("live-cert.pem")
            self.keyPath = self.certificates.directory.file("live-key.pem")
            try self.install(self.certificates.preview)
        }

        /// Replaces the live files the way deployment tools do: write aside, then rename over.
        func install(_ files: DevelopmentCertificates.Files) throws {
            try self.replace(self.keyPath, with: Data(contentsOf: URL(fileURLWithPath: files.privateKeyPath)))
            try self.replace(self.certificatePath, with: Data(contentsOf: URL(fileURLWithPath: files.certificatePath)))
        }

        func replace(_ path: String, with data: Data) throws {
            try data.write(to: URL(fileURLWithPath: path + ".new"))
            guard rename(path + ".new", path) == 0 else { throw TestFailure("rename \(path)") }
        }
    }

    @Test func reloadSwapsTheCertificateForNewConnectionsOnly() async throws {
        let live = try LiveFiles()
        let store = try TLSCertificateStore(configuration: live.configuration)
        let server = try await TestServer.start(store: store)
        defer { Task { try? await server.stop() } }

        // A connection opened before the reload...
        let early = try PeerProcess(Peer.openssl, ["s_client", "-connect", "127.0.0.1:\(server.port)", "-ign_eof"])
        defer { early.kill() }
        try await early.waitForOutput(containing: "Verify return code")
        #expect(early.stdout.contains("CN = *.preview.localhost"))

        let before = store.fileFingerprint()
        let oldContext = store.context
        try live.install(live.certificates.other)
        #expect(store.fileFingerprint() != before)
        try store.reload()
        #expect(store.context !== oldContext)
        #expect(store.context.certificateNames == [["other.example.test"]])

        // ...a new one gets the new certificate...
        let late = try await Peer.handshake(port: server.port, [])
        #expect(late.stdout.contains("CN = other.example.test"), "\(late.output)")

        // ...and the early one still works on the old one.
        await early.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try await early.waitForOutput(containing: "sni=- alpn=-")
    }

    @Test func aBrokenCertificateKeepsTheOldOneAndNamesTheFile() async throws {
        let live = try LiveFiles()
        let store = try TLSCertificateStore(configuration: live.configuration)
        let server = try await TestServer.start(store: store)
        defer { Task { try? await server.stop() } }
        let oldContext = store.context

        try live.replace(live.certificatePath, with: Data("-----BEGIN CERTIFICATE-----\nnot base64\n".utf8))
        let error = try #require(throws: TLSError.self) { try store.reload() }
        #expect(error == .certificateFile)
        #expect(error.file == live.certificatePath)
        #expect(error.description.contains(live.certificatePath))
        #expect(error.reason.contains("PEM routines"), "\(error)")
        #expect(store.context === oldContext)

        let result = try await Peer.handshake(port: server.port, [])
        #expect(result.stdout.contains("CN = *.preview.localhost"), "\(result.output)")

        // Nothing changed since the failed attempt: no retry. The right file arriving is picked up.
        #expect(try store.reloadIfChanged() == false)
        try live.install(live.certificates.other)
        #expect(try store.reloadIfChanged() == true)
        #expect(store.context.certificateNames == [["other.example.test"]])
    }

    @Test func aKeyThatDoesNotMatchIsRejected() throws {
        let live = try LiveFiles()
        let store = try TLSCertificateStore(configuration: live.configuration)
        try live.replace(live.keyPath, with: Data(contentsOf: URL(fileURLWithPath: live.certificates.other.privateKeyPath)))
        let error = try #require(throws: TLSError.self) { try store.reload() }
        #expect(error == .privateKeyFile)
        #expect(error.file == live.keyPath)
        #expect(error.reason.contains("does not match"), "\(error)")
    }

    @Test func aMissingFileFailsAtStartup() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.file("nope.pem")
        let error = try #require(throws: TLSError.self) {
            try TLSCertificateStore(
                configuration: TLSConfiguration(certificates: [.init(certificateChainPath: missing, privateKeyPath: missing)])
            )
        }
        #expect(error == .certificateFile)
        #expect(error.description.contains(missing))
        #expect(throws: TLSError.configuration) { try TLSContext(configuration: TLSConfiguration(certificates: [])) }
    }
}
