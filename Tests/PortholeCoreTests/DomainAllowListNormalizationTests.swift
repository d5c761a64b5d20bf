import PortholeCore
import Testing

@Suite("DomainAllowList normalization and limits")
struct DomainAllowListNormalizationTests {
    @Test(arguments: [
        ("pypi.org", "pypi.org"),
        (" pypi.org ,\t*.github.com\n", "pypi.org,*.github.com"),
        ("github.com, *.github.com", "github.com,*.github.com"),
        ("PyPI.org,pypi.org", "pypi.org"),
        ("pypi.org.,pypi.org", "pypi.org"),
        ("localhost", "localhost"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c1", "a-b.c1"),
    ])
    func parsesLists(_ text: String, _ description: String) throws {
        let list = try DomainAllowList.parse(text)
        #expect(list.description == description)
        // The stored form parses back to the same list with nothing to report.
        let again = try DomainAllowList.parse(list.description)
        #expect(again.entries == list.entries)
        #expect(again.normalizations.isEmpty)
    }

    @Test func upperCaseAndTrailingDotsAreNormalisedAndReported() throws {
        let list = try DomainAllowList.parse(" PyPI.org. , *.GitHub.COM,files.pythonhosted.org., pypi.org ")
        #expect(list.description == "pypi.org,*.github.com,files.pythonhosted.org")
        #expect(
            list.normalizations == [
                .init(original: "PyPI.org.", normalized: "pypi.org"),
                .init(original: "*.GitHub.COM", normalized: "*.github.com"),
                .init(original: "files.pythonhosted.org.", normalized: "files.pythonhosted.org"),
            ])
        #expect(list.normalizations.first?.description == "PyPI.org. → pypi.org")
        // The same spelling twice is reported once.
        #expect(try DomainAllowList.parse("A.com,A.com").normalizations == [.init(original: "A.com", normalized: "a.com")])
        // Whitespace around entries is not a change of spelling.
        #expect(try DomainAllowList.parse("  a.com\t").normalizations.isEmpty)
        #expect(DomainAllowList(entries: list.entries).normalizations.isEmpty)
    }

    @Test(arguments: [
        ("", "the domain allow list is empty; give comma-separated names such as pypi.org, *.github.com"),
        (" \t", "the domain allow list is empty; give comma-separated names such as pypi.org, *.github.com"),
        ("pypi.org,", "entry 2 of the domain allow list is empty; separate names with single commas"),
        ("pypi.org, ,a.com", "entry 2 of the domain allow list is empty; separate names with single commas"),
        ("*.com", "\"*.com\" is not a valid domain name: the wildcard is too broad; give at least two labels after \"*.\", as in *.example.com"),
        ("*", "\"*\" is not a valid domain name: the wildcard is too broad; give at least two labels after \"*.\", as in *.example.com"),
        ("a.*.com", "\"a.*.com\" is not a valid domain name: '*' may only stand alone as the first label, as in *.example.com"),
        (
            "10.0.0.1",
            "\"10.0.0.1\" is not a valid domain name: an IP address is not a domain name; put addresses in networkAllowList as CIDRs, such as 192.0.2.1/32"
        ),
        (
            "1.2.3.999",
            "\"1.2.3.999\" is not a valid domain name: the last label \"999\" is all digits, which no top-level domain is; if this is an IP address, put it in networkAllowList as a CIDR"
        ),
        ("-a.com", "\"-a.com\" is not a valid domain name: label \"-a\" starts or ends with '-'"),
        ("a..com", "\"a..com\" is not a valid domain name: a label is empty (a leading dot or two dots in a row)"),
        ("pypi.org..", "\"pypi.org..\" is not a valid domain name: a label is empty (a leading dot or two dots in a row)"),
        ("a_b.com", "\"a_b.com\" is not a valid domain name: unexpected character '_'; names use letters, digits, '-' and '.'"),
        ("bücher.de", "\"bücher.de\" is not a valid domain name: unexpected character 0xC3; write internationalised names in their xn-- form"),
    ])
    func refusesWithAMessageNamingTheEntry(_ text: String, _ expected: String) {
        #expect(message(text) == expected)
    }

    @Test func lengthLimits() throws {
        let label63 = String(repeating: "a", count: 63)
        let name253 = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(name253.utf8.count == 253)
        #expect(try DomainAllowList.parse(name253).description == name253)
        #expect(try DomainAllowList.parse(name253 + ".").description == name253)
        #expect(message(name253 + "b")?.hasSuffix("is not a valid domain name: the name is 254 characters long; a name is at most 253") == true)
        #expect(message("*." + name253.dropFirst(2)) == nil)
        #expect(message("*." + name253)?.hasSuffix("the name is 255 characters long; a name is at most 253") == true)
        #expect(message(String(repeating: "a", count: 64) + ".com")?.contains("is 64 characters long; a label is at most 63") == true)
    }

    private func message(_ text: String, maxEntries: Int = DomainAllowList.defaultMaxEntries) -> String? {
        do {
            _ = try DomainAllowList.parse(text, maxEntries: maxEntries)
            return nil
        } catch {
            return error.message
        }
    }
}
