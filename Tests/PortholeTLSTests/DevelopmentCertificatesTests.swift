import Foundation
import PortholeTLS
import PortholeTestSupport
import Testing

@Suite struct DevelopmentCertificatesTests {
    @Test func generatedCertificateVerifiesAgainstTheCA() async throws {
        let directory = try TemporaryDirectory()
        let files = try DevelopmentCertificates.generate(directory: directory.file("certs"))

        let verify = try await run(Peer.openssl, ["verify", "-CAfile", files.certificateAuthorityPath, files.certificatePath])
        #expect(verify.status == 0, "\(verify.output)")

        let text = try await run(Peer.openssl, ["x509", "-in", files.certificatePath, "-noout", "-text"]).stdout
        #expect(text.contains("DNS:*.preview.localhost, DNS:preview.localhost, DNS:localhost, IP Address:127.0.0.1"))
        #expect(text.contains("CA:FALSE"))
        #expect(text.contains("TLS Web Server Authentication"))
        #expect(text.contains("ASN1 OID: prime256v1"))

        let ca = try await run(Peer.openssl, ["x509", "-in", files.certificateAuthorityPath, "-noout", "-text"]).stdout
        #expect(ca.contains("CA:TRUE"))
        #expect(ca.contains("Certificate Sign"))

        // Valid for more than 300 days, but not for 397 (the browsers' limit).
        let lasts300 = try await run(Peer.openssl, ["x509", "-in", files.certificatePath, "-noout", "-checkend", "\(300 * 86400)"])
        let lasts397 = try await run(Peer.openssl, ["x509", "-in", files.certificatePath, "-noout", "-checkend", "\(397 * 86400)"])
        #expect(lasts300.status == 0)
        #expect(lasts397.status != 0)
    }

    @Test func privateKeysAreOwnerOnly() throws {
        let directory = try TemporaryDirectory()
        let files = try DevelopmentCertificates.generate(directory: directory.file("certs"))
        for path in [files.privateKeyPath, files.certificateAuthorityKeyPath] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(path)")
        }
    }

    @Test func ensureExistsKeepsExistingFilesAndGenerateReusesTheCA() throws {
        let directory = try TemporaryDirectory()
        let first = try DevelopmentCertificates.ensureExists(directory: directory.path)
        let certificate = try Data(contentsOf: URL(fileURLWithPath: first.certificatePath))
        let authority = try Data(contentsOf: URL(fileURLWithPath: first.certificateAuthorityPath))

        try DevelopmentCertificates.ensureExists(directory: directory.path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: first.certificatePath)) == certificate)

        try DevelopmentCertificates.generate(directory: directory.path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: first.certificatePath)) != certificate)
        #expect(try Data(contentsOf: URL(fileURLWithPath: first.certificateAuthorityPath)) == authority)
    }

    @Test func contextReadsNamesFromTheCertificate() throws {
        let certificates = try TestCertificates()
        let context = try TLSContext(configuration: certificates.configuration())
        #expect(context.certificateNames == [["*.preview.localhost", "preview.localhost", "localhost"], ["other.example.test"]])
    }
}

/// The development certificate covers the base domains the server runs with, not only the default.
@Suite struct DevelopmentCertificateNamesTests {
    @Test(arguments: [
        (["preview.localhost"], ["*.preview.localhost", "preview.localhost", "localhost"]),
        (["a.test", "B.Test"], ["*.a.test", "a.test", "*.b.test", "b.test", "localhost"]),
        (["localhost"], ["*.localhost", "localhost"]),
        (["a.test", "a.test"], ["*.a.test", "a.test", "localhost"]),
    ])
    func namesForBaseDomains(_ domains: [String], _ names: [String]) {
        #expect(DevelopmentCertificates.names(forBaseDomains: domains) == names)
    }

    /// `porthole certs dev --domain` writes a certificate whose SAN names the domain (read back
    /// with openssl), and refuses a name that is not one.
    @Test func certsDevTakesDomains() async throws {
        let directory = try TemporaryDirectory()
        let made = try await run(TestPaths.portholeBinary, ["certs", "dev", "--cert-dir", directory.path, "--domain", "previews.example.test"])
        #expect(made.status == 0, "\(made.output)")
        let names = try await run("/usr/bin/openssl", ["x509", "-in", directory.file("dev-cert.pem"), "-noout", "-ext", "subjectAltName"])
        #expect(names.stdout.contains("DNS:*.previews.example.test, DNS:previews.example.test, DNS:localhost"), "\(names.output)")
        #expect(!names.stdout.contains("preview.localhost"))

        let refused = try await run(TestPaths.portholeBinary, ["certs", "dev", "--cert-dir", directory.file("other"), "--domain", "a,b.test"])
        #expect(refused.status != 0 && refused.output.contains("is not a DNS name"), "\(refused.output)")
    }
}
