import PortholeCore
import Testing

@Suite("NetworkAllowList")
struct NetworkAllowListTests {
    @Test func normalisesAndReportsIt() throws {
        let list = try NetworkAllowList.parse("192.168.1.0/16,10.0.0.0/24")
        #expect(list.description == "192.168.0.0/16,10.0.0.0/24")
        #expect(list.normalizations == [NetworkAllowList.Normalization(original: "192.168.1.0/16", normalized: "192.168.0.0/16")])
        #expect(list.normalizations.first?.description == "192.168.1.0/16 → 192.168.0.0/16")
        #expect(list.entries.count == 2)
    }

    @Test(arguments: [
        ("10.0.0.0/8", "10.0.0.0/8"),
        (" 10.0.0.0/8 ,\t172.16.0.0/12\n", "10.0.0.0/8,172.16.0.0/12"),
        ("10.0.0.0/8 , 172.16.0.0/12 , 192.168.0.0/16", "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"),
        ("\r\n10.0.0.0/8\r\n", "10.0.0.0/8"),
        ("10.0.0.0/8,10.0.0.0/8", "10.0.0.0/8"),
        ("10.0.0.0/8,10.1.0.0/8,10.0.0.0/8", "10.0.0.0/8"),
        ("172.16.0.0/12,10.0.0.0/8", "172.16.0.0/12,10.0.0.0/8"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("1.1.1.1/32,1.1.1.1/31", "1.1.1.1/32,1.1.1.0/31"),
    ])
    func parsesLists(_ text: String, _ description: String) throws {
        let list = try NetworkAllowList.parse(text)
        #expect(list.description == description)
        // The stored form parses back to itself with nothing to report.
        let again = try NetworkAllowList.parse(list.description)
        #expect(again.entries == list.entries)
        #expect(again.normalizations.isEmpty)
    }

    @Test func duplicatesAfterNormalisationCollapseButAreStillReported() throws {
        let list = try NetworkAllowList.parse("10.0.0.0/8,10.1.0.0/8,10.1.0.0/8")
        #expect(list.entries == [try IPv4CIDR.parse("10.0.0.0/8")])
        #expect(list.normalizations == [.init(original: "10.1.0.0/8", normalized: "10.0.0.0/8")])
    }

    @Test func entryLimitCountsDistinctEntries() throws {
        let five = "1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8"
        #expect(try NetworkAllowList.parse(five).entries.count == 5)
        #expect(try NetworkAllowList.parse(five + ",5.0.0.0/8,1.2.0.0/8").entries.count == 5)
        #expect(NetworkAllowList.defaultMaxEntries == 5)

        #expect(message(five + ",6.0.0.0/8") == "at most 5 entries are allowed, got 6")
        #expect(message("1.0.0.0/8,2.0.0.0/8,3.0.0.0/8", maxEntries: 2) == "at most 2 entries are allowed, got 3")
        #expect(try NetworkAllowList.parse("1.0.0.0/8,2.0.0.0/8", maxEntries: 2).entries.count == 2)
        #expect(message("1.0.0.0/8", maxEntries: 0) == "at most 0 entries are allowed, got 1")
    }

    @Test(arguments: [
        ("", "the network allow list is empty; give comma-separated IPv4 CIDRs such as 10.0.0.0/8"),
        ("   ", "the network allow list is empty; give comma-separated IPv4 CIDRs such as 10.0.0.0/8"),
        ("10.0.0.0/8,", "entry 2 of the network allow list is empty; separate IPv4 CIDRs with single commas"),
        (",10.0.0.0/8", "entry 1 of the network allow list is empty; separate IPv4 CIDRs with single commas"),
        ("10.0.0.0/8,,1.0.0.0/8", "entry 2 of the network allow list is empty; separate IPv4 CIDRs with single commas"),
        ("10.0.0.0/8, ,1.0.0.0/8", "entry 2 of the network allow list is empty; separate IPv4 CIDRs with single commas"),
        (",", "entry 1 of the network allow list is empty; separate IPv4 CIDRs with single commas"),
        ("300.1.1.1/8", "\"300.1.1.1/8\" is not a valid IPv4 CIDR: octet 300 is out of range"),
        ("10.0.0.0", "\"10.0.0.0\" is not a valid IPv4 CIDR: missing prefix length"),
        ("10.0.0.0/33", "\"10.0.0.0/33\" is not a valid IPv4 CIDR: prefix length 33 is greater than 32"),
        ("10.0.0.0/8; 1.0.0.0/8", "\"10.0.0.0/8; 1.0.0.0/8\" is not a valid IPv4 CIDR: unexpected character ';'"),
        ("10.0.0.0/8 1.0.0.0/8", "\"10.0.0.0/8 1.0.0.0/8\" is not a valid IPv4 CIDR: unexpected character ' '"),
        ("10.0.0.0/8,  bad  ,also-bad", "\"bad\" is not a valid IPv4 CIDR: unexpected character 'b'"),
        ("10.0.0.0/8,010.0.0.0/8", "\"010.0.0.0/8\" is not a valid IPv4 CIDR: octet 010 has a leading zero"),
        ("10.0.0.0/8,\u{301}1.0.0.0/8", "\"\u{301}1.0.0.0/8\" is not a valid IPv4 CIDR: unexpected character 0xCC"),
        ("::1/128", "\"::1/128\" is not a valid IPv4 CIDR: unexpected character ':'"),
    ])
    func rejectsBadLists(_ text: String, _ expected: String) {
        #expect(message(text) == expected)
    }

    @Test func errorNamesTheEntry() {
        do {
            _ = try NetworkAllowList.parse("10.0.0.0/8, 300.1.1.1/8 ")
            Issue.record("expected an error")
        } catch {
            #expect(error.entry == "300.1.1.1/8")
            #expect(error.description == error.message)
        }
        do {
            _ = try NetworkAllowList.parse("")
        } catch {
            #expect(error.entry == nil)
        }
    }

    @Test func veryLongEntryIsTruncatedInTheMessage() {
        let text = String(repeating: "9", count: 200)
        let message = message(text)
        #expect(message.hasPrefix("\"" + String(repeating: "9", count: 64) + "…\" is not a valid IPv4 CIDR"))
        #expect(message.utf8.count < 160)
    }

    @Test func containsChecksEveryEntry() throws {
        let list = try NetworkAllowList.parse("10.0.0.0/8,192.168.1.1/32")
        #expect(list.contains(IPv4Address(10, 9, 8, 7).value))
        #expect(list.contains(IPv4Address(192, 168, 1, 1).value))
        #expect(!list.contains(IPv4Address(192, 168, 1, 2).value))
        #expect(!list.contains(IPv4Address(11, 0, 0, 0).value))
    }

    @Test func memberwiseInitialiserNormalisesAndDeduplicates() throws {
        let list = NetworkAllowList(entries: [
            try IPv4CIDR.parse("10.1.0.0/8"), try IPv4CIDR.parse("10.0.0.0/8"), try IPv4CIDR.parse("1.2.3.4/32"),
        ])
        #expect(list.description == "10.0.0.0/8,1.2.3.4/32")
    }

    private func message(_ text: String, maxEntries: Int = 5) -> String {
        do {
            let list = try NetworkAllowList.parse(text, maxEntries: maxEntries)
            return "parsed \(list)"
        } catch {
            return error.message
        }
    }
}
