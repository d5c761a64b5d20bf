import PortholeDNS
import Testing

@Suite("DNSName")
struct DNSNameTests {
    @Test(arguments: [
        ("pypi.org", "pypi.org", 2),
        ("pypi.org.", "pypi.org", 2),
        ("PyPI.Org", "PyPI.Org", 2),
        (".", ".", 0),
        ("a", "a", 1),
        ("_dmarc.example.com", "_dmarc.example.com", 3),
        ("*.example.com", "*.example.com", 3),
    ])
    func parsesText(_ text: String, _ description: String, _ labelCount: Int) throws {
        let name = try DNSName(text)
        #expect(name.description == description)
        #expect(name.labels.count == labelCount)
        #expect(try DNSName(name.description) == name)
    }

    @Test func wireFormatIsUncompressedWithRoot() throws {
        let name = try DNSName("pypi.org")
        #expect(name.wireFormat == Packet.name("pypi.org"))
        var bytes: [UInt8] = [0xAA]
        name.encode(into: &bytes)
        #expect(bytes == [0xAA] + Packet.name("pypi.org"))
        #expect(DNSName.root.wireFormat == [0])
        #expect(DNSName.root.isRoot)
        #expect(!name.isRoot)
        #expect(name.labels.map { Array($0) } == [Array("pypi".utf8), Array("org".utf8)])
    }

    @Test func comparesIgnoringASCIICaseOnly() throws {
        let lower = try DNSName("pypi.org")
        let mixed = try DNSName("PyPi.ORG")
        #expect(lower == mixed)
        #expect(lower.hashValue == mixed.hashValue)
        #expect(Set([lower, mixed]).count == 1)
        #expect(lower != (try DNSName("pypi.org.evil")))
        #expect(lower != (try DNSName("pypi.or")))
        // Non-ASCII bytes never fold: 0xC4 and 0xE4 differ only in bit 5 but are not letters.
        let upper = try DNSName(labels: [[0xC4]])
        let other = try DNSName(labels: [[0xE4]])
        #expect(upper != other)
        // `[` (0x5B) and `{` (0x7B) differ in bit 5 too.
        #expect(try DNSName(labels: [[0x5B]]) != DNSName(labels: [[0x7B]]))
    }

    @Test func presentationFormEscapesWhatIsNotAHostName() throws {
        // A label holding a dot must not read as two labels.
        let dotted = try DNSName(labels: [Array("evil.github".utf8), Array("com".utf8)])
        #expect(dotted.description == "evil\\.github.com")
        #expect(dotted != (try DNSName("evil.github.com")))
        #expect(try DNSName(labels: [[UInt8(ascii: "\\")], Array("x".utf8)]).description == "\\\\.x")
        #expect(try DNSName(labels: [[0x00, 0x20, 0x7F, 0xFF, 0x41]]).description == "\\000\\032\\127\\255A")
        #expect(try DNSName(labels: [Array("a;b".utf8)]).description == "a\\059b")
    }

    @Test func limits() throws {
        let label63 = [UInt8](repeating: UInt8(ascii: "a"), count: 63)
        #expect(try DNSName(labels: [label63]).wireFormat.count == 65)
        #expect(message { try DNSName(labels: [label63 + [UInt8(ascii: "a")]]) } == "a label is 64 bytes long; a label is at most 63")
        // 3 × 64 + 62 + 1 = 255 bytes on the wire: the longest name.
        let label61 = [UInt8](repeating: UInt8(ascii: "b"), count: 61)
        #expect(try DNSName(labels: [label63, label63, label63, label61]).wireFormat.count == 255)
        #expect(message { try DNSName(labels: [label63, label63, label63, label61 + [0x62]]) } == "a name is longer than 255 bytes")
        #expect(message { try DNSName("a..b") } == "a label is empty")
        #expect(message { try DNSName("") } == "a label is empty")
        #expect(message { try DNSName(".a") } == "a label is empty")
        #expect(message { try DNSName(labels: [[UInt8]]()) } == "parsed .")
    }
}
