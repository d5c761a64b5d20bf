import PortholeCore
import Testing

@Suite("OrganizationAllowList")
struct OrganizationAllowListTests {
    @Test func linesAreNetworksAddressesOrNames() throws {
        let list = try OrganizationAllowList.parseLines(
            """
            # the operator's list
            10.20.0.0/16
            192.0.2.7          # one address
            2001:db8::/32
            ::ffff:198.51.100.0/120

            git.internal.example
            *.corp.example
            """)
        #expect(list.networks.description == "10.20.0.0/16,192.0.2.7/32,2001:db8::/32,198.51.100.0/24")
        #expect(list.domains.allows("git.internal.example"))
        #expect(list.domains.allows("a.corp.example"))
        #expect(!list.domains.allows("corp.example.attacker.test"))
        #expect(!list.isEmpty)
        #expect(try OrganizationAllowList.parseLines("\n# nothing\n").isEmpty)
    }

    @Test(arguments: [
        ("10.0.0.1/8\n", "line 1"),
        ("ok.example\n\n300.1.2.3\n", "line 3"),
        ("ok.example\n*.com\n", "line 2"),
        ("a..example\n", "line 1"),
        ("fd00::/8\nexample.com:443\n", "line 2"),
    ])
    func errorsNameTheLine(text: String, line: String) {
        #expect {
            try OrganizationAllowList.parseLines(text)
        } throws: { error in
            "\(error)".hasPrefix(line + ":")
        }
    }
}
