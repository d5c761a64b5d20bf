import PortholeCore
import Testing

@Suite("DomainAllowList")
struct DomainAllowListTests {
    // MARK: - Parsing

    @Test(arguments: [
        ("pypi.org", "pypi.org"),
        ("pypi.org, *.github.com", "pypi.org,*.github.com"),
        (" pypi.org ,\t*.github.com\n", "pypi.org,*.github.com"),
        ("\r\nPyPI.ORG\r\n", "pypi.org"),
        ("pypi.org.", "pypi.org"),
        ("*.GitHub.Com.", "*.github.com"),
        ("pypi.org,PYPI.org,pypi.org.", "pypi.org"),
        ("github.com,*.github.com", "github.com,*.github.com"),
        ("*.github.com,github.com", "*.github.com,github.com"),
        ("localhost", "localhost"),
        ("a", "a"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c-d.example", "a-b.c-d.example"),
        ("3com.com", "3com.com"),
        ("1.2.3.com", "1.2.3.com"),
        ("*.co.uk", "*.co.uk"),
        ("*.a.b.c", "*.a.b.c"),
    ])
    func parsesLists(_ text: String, _ description: String) throws {
        let list = try DomainAllowList.parse(text)
        #expect(list.description == description)
        // The stored form parses back to the same entries (with nothing left to normalise).
        let again = try DomainAllowList.parse(list.description)
        #expect(again.entries == list.entries)
        #expect(again.normalizations.isEmpty)
        #expect(again.description == description)
    }

    @Test func longestLabelAndNameAreAccepted() throws {
        let label63 = String(repeating: "a", count: 63)
        #expect(try DomainAllowList.parse(label63 + ".com").description == label63 + ".com")
        // 63+1+63+1+63+1+61 = 253 characters.
        let name253 = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(name253.count == 253)
        #expect(try DomainAllowList.parse(name253).entries.count == 1)
        #expect(try DomainAllowList.parse(name253 + ".").entries.count == 1)
        // A wildcard is measured with its `*.`: the shortest name it matches is as long.
        let base251 = [label63, label63, label63, String(repeating: "b", count: 59)].joined(separator: ".")
        #expect(try DomainAllowList.parse("*." + base251).entries.count == 1)
    }

    @Test(arguments: [
        ("", "the domain allow list is empty; give comma-separated names such as pypi.org, *.github.com"),
        (" \t ", "the domain allow list is empty; give comma-separated names such as pypi.org, *.github.com"),
        ("pypi.org,", "entry 2 of the domain allow list is empty; separate names with single commas"),
        (",pypi.org", "entry 1 of the domain allow list is empty; separate names with single commas"),
        ("pypi.org, ,x.org", "entry 2 of the domain allow list is empty; separate names with single commas"),
        ("*.com", "\"*.com\" is not a valid domain name: the wildcard is too broad; give at least two labels after \"*.\", as in *.example.com"),
        ("*", "\"*\" is not a valid domain name: the wildcard is too broad; give at least two labels after \"*.\", as in *.example.com"),
        ("*.", "\"*.\" is not a valid domain name: the wildcard is too broad; give at least two labels after \"*.\", as in *.example.com"),
        ("*.com.", "\"*.com.\" is not a valid domain name: the wildcard is too broad; give at least two labels after \"*.\", as in *.example.com"),
        (
            "10.0.0.1",
            "\"10.0.0.1\" is not a valid domain name: an IP address is not a domain name; put addresses in networkAllowList as CIDRs, such as 192.0.2.1/32"
        ),
        (
            "10.0.0.0/8",
            "\"10.0.0.0/8\" is not a valid domain name: an IP address is not a domain name; put addresses in networkAllowList as CIDRs, such as 192.0.2.1/32"
        ),
        (
            "2001:db8::1",
            "\"2001:db8::1\" is not a valid domain name: an IP address is not a domain name; put addresses in networkAllowList as CIDRs, such as 192.0.2.1/32"
        ),
        ("::1", "\"::1\" is not a valid domain name: an IP address is not a domain name; put addresses in networkAllowList as CIDRs, such as 192.0.2.1/32"),
        (
            "2001:db8::/32",
            "\"2001:db8::/32\" is not a valid domain name: an IP address is not a domain name; put addresses in networkAllowList as CIDRs, such as 192.0.2.1/32"
        ),
        (
            "300.1.1.1",
            "\"300.1.1.1\" is not a valid domain name: the last label \"1\" is all digits, which no top-level domain is; if this is an IP address, put it in networkAllowList as a CIDR"
        ),
        (
            "*.10.0.0.1",
            "\"*.10.0.0.1\" is not a valid domain name: the last label \"1\" is all digits, which no top-level domain is; if this is an IP address, put it in networkAllowList as a CIDR"
        ),
        ("pypi..org", "\"pypi..org\" is not a valid domain name: a label is empty (a leading dot or two dots in a row)"),
        (".pypi.org", "\".pypi.org\" is not a valid domain name: a label is empty (a leading dot or two dots in a row)"),
        ("pypi.org..", "\"pypi.org..\" is not a valid domain name: a label is empty (a leading dot or two dots in a row)"),
        (".", "\".\" is not a valid domain name: a label is empty (a leading dot or two dots in a row)"),
        ("*..github.com", "\"*..github.com\" is not a valid domain name: a label is empty (a leading dot or two dots in a row)"),
        ("-pypi.org", "\"-pypi.org\" is not a valid domain name: label \"-pypi\" starts or ends with '-'"),
        ("pypi-.org", "\"pypi-.org\" is not a valid domain name: label \"pypi-\" starts or ends with '-'"),
        ("pypi.org-", "\"pypi.org-\" is not a valid domain name: label \"org-\" starts or ends with '-'"),
        ("*.-a.example", "\"*.-a.example\" is not a valid domain name: label \"-a\" starts or ends with '-'"),
        ("py_pi.org", "\"py_pi.org\" is not a valid domain name: unexpected character '_'; names use letters, digits, '-' and '.'"),
        ("pypi.org:443", "\"pypi.org:443\" is not a valid domain name: unexpected character ':'; names use letters, digits, '-' and '.'"),
        ("https://pypi.org", "\"https://pypi.org\" is not a valid domain name: unexpected character ':'; names use letters, digits, '-' and '.'"),
        ("pypi.org/simple", "\"pypi.org/simple\" is not a valid domain name: unexpected character '/'; names use letters, digits, '-' and '.'"),
        ("pypi org", "\"pypi org\" is not a valid domain name: unexpected character ' '; names use letters, digits, '-' and '.'"),
        ("pypi.org; x.org", "\"pypi.org; x.org\" is not a valid domain name: unexpected character ';'; names use letters, digits, '-' and '.'"),
        ("bücher.example", "\"bücher.example\" is not a valid domain name: unexpected character 0xC3; write internationalised names in their xn-- form"),
        ("a\u{0}.example", "\"a\\u{0}.example\" is not a valid domain name: unexpected character 0x00; names use letters, digits, '-' and '.'"),
        ("evil\\.github.com", "\"evil\\.github.com\" is not a valid domain name: unexpected character '\\'; names use letters, digits, '-' and '.'"),
        ("*github.com", "\"*github.com\" is not a valid domain name: '*' may only stand alone as the first label, as in *.example.com"),
        ("a.*.github.com", "\"a.*.github.com\" is not a valid domain name: '*' may only stand alone as the first label, as in *.example.com"),
        ("*.*.github.com", "\"*.*.github.com\" is not a valid domain name: '*' may only stand alone as the first label, as in *.example.com"),
        ("github.*", "\"github.*\" is not a valid domain name: '*' may only stand alone as the first label, as in *.example.com"),
        ("**.github.com", "\"**.github.com\" is not a valid domain name: '*' may only stand alone as the first label, as in *.example.com"),
        (
            "x." + String(repeating: "b", count: 64) + ".com",
            "\"x." + String(repeating: "b", count: 62) + "…\" is not a valid domain name: label \""
                + String(repeating: "b", count: 24) + "…\" is 64 characters long; a label is at most 63"
        ),
    ])
    func rejectsBadLists(_ text: String, _ expected: String) {
        #expect(message(text) == expected)
    }

    @Test func rejectsNamesLongerThan253() {
        let label63 = String(repeating: "a", count: 63)
        let name254 = [label63, label63, label63, String(repeating: "b", count: 62)].joined(separator: ".")
        #expect(message(name254).hasSuffix("is not a valid domain name: the name is 254 characters long; a name is at most 253"))
        let base252 = [label63, label63, label63, String(repeating: "b", count: 60)].joined(separator: ".")
        #expect(message("*." + base252).hasSuffix("the name is 254 characters long; a name is at most 253"))
        // The message quotes at most 64 characters of the entry.
        #expect(message(name254).utf8.count < 200)
    }

    @Test func entryLimitCountsDistinctEntries() throws {
        let ten = (1...10).map { "host\($0).example" }.joined(separator: ",")
        #expect(try DomainAllowList.parse(ten).entries.count == 10)
        #expect(try DomainAllowList.parse(ten + ",HOST1.example.,host2.example").entries.count == 10)
        #expect(DomainAllowList.defaultMaxEntries == 10)
        #expect(message(ten + ",host11.example") == "at most 10 entries are allowed, got 11")
        #expect(message("a.example,b.example,c.example", maxEntries: 2) == "at most 2 entries are allowed, got 3")
        #expect(try DomainAllowList.parse("a.example,b.example", maxEntries: 2).entries.count == 2)
    }

    @Test func errorNamesTheEntry() {
        do {
            _ = try DomainAllowList.parse("pypi.org,  *.com ")
            Issue.record("expected an error")
        } catch {
            #expect(error.entry == "*.com")
            #expect(error.line == nil)
            #expect(error.description == error.message)
        }
        do {
            _ = try DomainAllowList.parse("")
            Issue.record("expected an error")
        } catch {
            #expect(error.entry == nil)
        }
    }

    @Test func controlCharactersAreEscapedInMessages() {
        let text = "a\u{1B}[2J.example"
        #expect(!message(text).contains("\u{1B}"))
    }

    @Test func entriesKeepTheirOrderAndKind() throws {
        let list = try DomainAllowList.parse("*.github.com, pypi.org")
        #expect(list.entries.map(\.name) == ["github.com", "pypi.org"])
        #expect(list.entries.map(\.isWildcard) == [true, false])
        #expect(list.entries.map(\.description) == ["*.github.com", "pypi.org"])
        #expect(DomainAllowList(entries: list.entries + list.entries) == list)
    }

    // MARK: - Matching

    static let matchingList = "pypi.org, *.github.com, Files.PythonHosted.org., *.a.b.example"

    @Test(arguments: [
        ("pypi.org", true),
        ("PYPI.ORG", true),
        ("pypi.org.", true),
        ("PyPi.Org.", true),
        ("files.pythonhosted.org", true),
        ("www.pypi.org", false),
        ("pypi.org.evil.example", false),
        ("evilpypi.org", false),
        ("pypi.or", false),
        ("pypi.orgx", false),
        // `*.github.com` is below github.com only.
        ("github.com", false),
        ("github.com.", false),
        ("api.github.com", true),
        ("API.GitHub.COM.", true),
        ("a.b.c.github.com", true),
        ("_acme-challenge.github.com", true),
        ("evilgithub.com", false),
        ("evil-github.com", false),
        ("github.com.evil.example", false),
        ("api.github.com.evil.example", false),
        ("githubXcom", false),
        ("x.githubXcom", false),
        (".github.com", false),
        ("a..github.com", false),
        ("x.a.b.example", true),
        ("a.b.example", false),
        ("b.example", false),
        // Presentation forms of wire labels that hold a dot or other bytes never match.
        ("evil\\.github.com", false),
        ("evil\\046github.com", false),
        ("a b.github.com", false),
        ("a\u{0}.github.com", false),
        ("ä.github.com", false),
        ("*.github.com", false),
        ("", false),
        (".", false),
        ("..", false),
        ("pypi.org..", false),
    ])
    func matches(_ name: String, _ expected: Bool) throws {
        let list = try DomainAllowList.parse(Self.matchingList)
        #expect(list.allows(name) == expected)
        #expect(list.allows(name[...]) == expected)
    }

    @Test func overlongQueryNamesNeverMatch() throws {
        let list = try DomainAllowList.parse("*.github.com")
        let label63 = String(repeating: "a", count: 63)
        #expect(list.allows(label63 + ".github.com"))
        #expect(!list.allows("a" + label63 + ".github.com"))
        let deep = String(repeating: "a.", count: 121) + "github.com"
        #expect(deep.count == 252)
        #expect(list.allows(deep))
        #expect(!list.allows("aa." + deep))
    }

    @Test func emptyListAllowsNothing() {
        let list = DomainAllowList(entries: [])
        #expect(!list.allows("pypi.org"))
        #expect(list.description == "")
    }

    // MARK: - Files of patterns

    @Test func parsesLinesWithCommentsAndBlankLines() throws {
        let text = """
            # registries
            pypi.org
              *.GitHub.com.   # trailing comment\r
            \t
            #*.ignored.example
            pypi.org
            files.pythonhosted.org#no space
            """
        let list = try DomainAllowList.parseLines(text)
        #expect(list.description == "pypi.org,*.github.com,files.pythonhosted.org")
        #expect(try DomainAllowList.parseLines("").entries.isEmpty)
        #expect(try DomainAllowList.parseLines("# nothing\n\n").entries.isEmpty)
    }

    @Test func linesHaveNoEntryLimit() throws {
        let text = (1...500).map { "host\($0).example" }.joined(separator: "\n")
        #expect(try DomainAllowList.parseLines(text).entries.count == 500)
    }

    @Test(arguments: [
        (
            "pypi.org\n*.com\n", 2, "*.com",
            "line 2: \"*.com\" is not a valid domain name: the wildcard is too broad; give at least two labels after \"*.\", as in *.example.com"
        ),
        (
            "# one\n\n\n10.0.0.1 # an address\n", 4, "10.0.0.1",
            "line 4: \"10.0.0.1\" is not a valid domain name: an IP address is not a domain name; put addresses in networkAllowList as CIDRs, such as 192.0.2.1/32"
        ),
        (
            "a.example, b.example", 1, "a.example, b.example",
            "line 1: \"a.example, b.example\" is not a valid domain name: unexpected character ','; names use letters, digits, '-' and '.'"
        ),
        (
            "ok.example\r\nbad_name.example\r\n", 2, "bad_name.example",
            "line 2: \"bad_name.example\" is not a valid domain name: unexpected character '_'; names use letters, digits, '-' and '.'"
        ),
    ])
    func lineErrorsNameTheLine(_ text: String, _ line: Int, _ entry: String, _ expected: String) {
        do {
            _ = try DomainAllowList.parseLines(text)
            Issue.record("expected an error")
        } catch {
            #expect(error.line == line)
            #expect(error.entry == entry)
            #expect(error.message == expected)
        }
    }

    // MARK: - Essential services

    @Test func defaultEssentialServicesParseAndRoundTrip() throws {
        let list = DomainAllowList.defaultEssentialServices
        #expect(try DomainAllowList.parseLines(DomainAllowList.defaultEssentialServicesText) == list)
        #expect(try DomainAllowList.parse(list.description, maxEntries: .max) == list)
        #expect(list.entries.count >= 50)
    }

    @Test(arguments: [
        "registry.npmjs.org", "registry.yarnpkg.com", "pypi.org", "files.pythonhosted.org", "repo.maven.apache.org",
        "repo1.maven.org", "docker.io", "registry-1.docker.io", "auth.docker.io", "production.cloudflare.docker.com",
        "gcr.io", "us-docker.pkg.dev", "mcr.microsoft.com", "westus.data.mcr.microsoft.com", "quay.io", "cdn.quay.io",
        "registry.k8s.io", "github.com", "api.github.com", "objects.githubusercontent.com",
        "raw.githubusercontent.com", "ghcr.io", "pkg-containers.ghcr.io", "gitlab.com", "registry.gitlab.com",
        "bitbucket.org", "api.bitbucket.org", "deb.debian.org", "security.debian.org", "archive.ubuntu.com",
        "security.ubuntu.com", "ports.ubuntu.com", "cdnjs.cloudflare.com", "dualstack.python.map.fastly.net",
        "x.fastlylb.net", "unpkg.com", "cdn.jsdelivr.net", "fastly.jsdelivr.net", "api.anthropic.com", "app.daytona.io",
    ])
    func essentialServicesAllow(_ name: String) {
        #expect(DomainAllowList.defaultEssentialServices.allows(name))
    }

    @Test(arguments: [
        "anthropic.com", "daytona.io", "evil.example", "github.com.evil.example", "evilgithub.com", "npmjs.org.evil",
        "cloudflare.com", "fastly.net", "maven.org", "k8s.io", "pkg.dev", "microsoft.com", "jsdelivr.net.evil",
    ])
    func essentialServicesRefuse(_ name: String) {
        #expect(!DomainAllowList.defaultEssentialServices.allows(name))
    }

    private func message(_ text: String, maxEntries: Int = DomainAllowList.defaultMaxEntries) -> String {
        do {
            let list = try DomainAllowList.parse(text, maxEntries: maxEntries)
            return "parsed \(list)"
        } catch {
            return error.message
        }
    }
}
