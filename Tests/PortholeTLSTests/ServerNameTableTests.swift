import PortholeTLS
import Testing

@Suite struct ServerNameTableTests {
    private let table: ServerNameTable = {
        var table = ServerNameTable()
        table.add(names: ["*.preview.localhost", "preview.localhost", "localhost"], forCertificateAt: 0)
        table.add(names: ["other.example.test", "*.other.example.test", "*.com", "f*.example.test"], forCertificateAt: 1)
        table.add(names: ["localhost", "exact.preview.localhost"], forCertificateAt: 2)
        return table
    }()

    @Test func exactNames() {
        #expect(self.table.certificateIndex(forServerName: "preview.localhost") == 0)
        #expect(self.table.certificateIndex(forServerName: "other.example.test") == 1)
        // An exact name beats a wildcard that also covers it.
        #expect(self.table.certificateIndex(forServerName: "exact.preview.localhost") == 2)
    }

    @Test func wildcardCoversExactlyOneLabel() {
        #expect(self.table.certificateIndex(forServerName: "3000-abc.preview.localhost") == 0)
        #expect(self.table.certificateIndex(forServerName: "a.b.preview.localhost") == nil)
        #expect(self.table.certificateIndex(forServerName: ".preview.localhost") == nil)
        #expect(self.table.certificateIndex(forServerName: "x.other.example.test") == 1)
    }

    @Test func caseAndTrailingDotDoNotMatter() {
        #expect(self.table.certificateIndex(forServerName: "3000-ABC.Preview.LocalHost.") == 0)
        #expect(self.table.certificateIndex(forServerName: "LOCALHOST") == 0)
    }

    @Test func firstCertificateKeepsAName() {
        #expect(self.table.certificateIndex(forServerName: "localhost") == 0)
    }

    @Test func wildcardsClientsRejectAreIgnored() {
        #expect(self.table.certificateIndex(forServerName: "example.com") == nil)
        #expect(self.table.certificateIndex(forServerName: "foo.example.test") == nil)
    }

    @Test func unknownNamesFallBackToTheDefault() {
        #expect(self.table.certificateIndex(forServerName: "unknown.example") == nil)
        #expect(self.table.certificateIndex(forServerName: "") == nil)
    }
}
