import PortholeCore
import PortholeDNS
@testable import PortholeEgress
import Testing

/// The agent's own account of resolved addresses, the drop counters it reads back from the kernel,
/// and the transactions that revoke and forget.
@Suite("Egress reporting")
struct EgressReportingTests {
    static let configuration = try! EgressConfiguration(sandboxInterfaces: ["psb*"], resolverAddresses: ["10.77.255.53"])
    static let a = SandboxEgress.Source.ipv4(IPv4Address(10, 0, 0, 2))
    static let b = SandboxEgress.Source.ipv6(try! IPv6Address.parse("fd77:1::2"))

    @Test func theBookKeepsNamesUntilTheyExpire() {
        var book = ResolvedAddressBook()
        book.record(Self.a, name: "pypi.org", addresses: [("203.0.113.20", 40), ("203.0.113.21", 40)], shared: true, now: 100)
        book.record(Self.a, name: "mine.example", addresses: [("198.51.100.10", 11)], shared: false, now: 100)
        // A later answer for the same address replaces the earlier lifetime, as the kernel's timeout does.
        book.record(Self.a, name: "pypi.org", addresses: [("203.0.113.20", 60)], shared: true, now: 110)
        #expect(
            book.addresses(of: Self.a) == [
                .init(name: "mine.example", address: "198.51.100.10", expiresAt: 111, shared: false),
                .init(name: "pypi.org", address: "203.0.113.20", expiresAt: 170, shared: true),
                .init(name: "pypi.org", address: "203.0.113.21", expiresAt: 140, shared: true),
            ])
        book.prune(now: 140)
        #expect(book.addresses(of: Self.a).map(\.address) == ["203.0.113.20"])
        #expect(book.addresses(of: Self.b).isEmpty)
    }

    @Test func takingTheOwnAddressesLeavesTheShared() {
        var book = ResolvedAddressBook()
        book.record(Self.a, name: "pypi.org", addresses: [("203.0.113.20", 40)], shared: true, now: 100)
        book.record(Self.a, name: "mine.example", addresses: [("198.51.100.11", 40), ("198.51.100.10", 40)], shared: false, now: 100)
        #expect(book.takeOwn(Self.a) == ["198.51.100.10", "198.51.100.11"])
        #expect(book.takeOwn(Self.a) == [])
        #expect(book.addresses(of: Self.a).map(\.address) == ["203.0.113.20"])
    }

    @Test func revokingRemovesOnlyTheSandboxesOwnElements() {
        #expect(EgressRuleset.revokeResolved(Self.configuration, source: Self.a, addresses: []) == "")
        #expect(
            EgressRuleset.revokeResolved(Self.configuration, source: Self.a, addresses: ["198.51.100.10", "198.51.100.11"]) == """
                add element inet porthole allow_dns_v4 { 10.0.0.2 . 198.51.100.10, 10.0.0.2 . 198.51.100.11 }
                delete element inet porthole allow_dns_v4 { 10.0.0.2 . 198.51.100.10, 10.0.0.2 . 198.51.100.11 }

                """)
        #expect(
            EgressRuleset.revokeResolved(Self.configuration, source: Self.b, addresses: ["2001:db8::1"]) == """
                add element inet porthole allow_dns_v6 { fd77:1::2 . 2001:db8::1 }
                delete element inet porthole allow_dns_v6 { fd77:1::2 . 2001:db8::1 }

                """)
    }

    @Test func resolvedAddressesGoToTheSetOfTheListThatAllowedThem() throws {
        let v4: [UInt8] = [203, 0, 113, 20]
        let v6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]
        #expect(
            EgressRuleset.resolvedElement(source: Self.a, bytes: v4, in: .organization)
                == .init(set: "org_dns_v4", key: "203.0.113.20", address: "203.0.113.20", owner: nil))
        #expect(
            EgressRuleset.resolvedElement(source: Self.a, bytes: v4, in: .own)
                == .init(set: "allow_dns_v4", key: "10.0.0.2 . 203.0.113.20", address: "203.0.113.20", owner: Self.a))
        #expect(
            EgressRuleset.resolvedElement(source: Self.b, bytes: v6, in: .essential)
                == .init(set: "essential_v6", key: "2001:db8::1", address: "2001:db8::1", owner: nil))
        // An answer of the other family for a sandbox's own set: nothing it could use.
        #expect(EgressRuleset.resolvedElement(source: Self.b, bytes: v4, in: .own) == nil)
        #expect(EgressRuleset.resolvedElement(source: Self.a, bytes: [1, 2, 3], in: .essential) == nil)
        // 5 s is floored to the 30 s minimum, plus 10 s grace; a day at most.
        #expect(EgressRuleset.timeout(forTTL: 5, Self.configuration) == 40)
        #expect(EgressRuleset.timeout(forTTL: 100_000, Self.configuration) == 86_410)
        let element = try #require(EgressRuleset.resolvedElement(source: Self.a, bytes: v4, in: .own))
        #expect(
            EgressRuleset.allowResolved(Self.configuration, [(element, 40)]) == """
                add element inet porthole allow_dns_v4 { 10.0.0.2 . 203.0.113.20 timeout 40s }
                delete element inet porthole allow_dns_v4 { 10.0.0.2 . 203.0.113.20 }
                add element inet porthole allow_dns_v4 { 10.0.0.2 . 203.0.113.20 timeout 40s }

                """)
    }

    @Test func aChainTakesTheNarrowestSet() {
        let sets: [EgressRuleset.ResolvedSet] = [.own, .organization, .essential]
        for first in sets {
            for second in sets {
                let narrowed = first.narrowed(by: second)
                #expect(narrowed == second.narrowed(by: first))
                #expect(narrowed == (sets.firstIndex(of: first)! < sets.firstIndex(of: second)! ? first : second))
            }
        }
    }

    @Test func theOrganisationListIsForRestrictedSandboxesOnly() throws {
        let organization = try DomainAllowList.parseLines("git.corp.example\n")
        let essential = try DomainAllowList.parseLines("pypi.org\n")
        let own = try DomainAllowList.parseLines("mine.example\n")
        let name = { (text: String) in try! DNSName(text) }
        let restricted = EgressResolver.NameRule(egressClass: .restricted, domains: nil, essential: essential, organization: organization)
        #expect(restricted.allows(name("git.corp.example")) == .organization)
        #expect(restricted.allows(name("pypi.org")) == .essential)
        #expect(restricted.allows(name("mine.example")) == nil)
        let listed = EgressResolver.NameRule(egressClass: .allowList, domains: own, essential: essential, organization: organization)
        #expect(listed.allows(name("git.corp.example")) == nil)
        #expect(listed.allows(name("mine.example")) == .own)
        #expect(listed.allows(name("pypi.org")) == .essential)
        let blocked = EgressResolver.NameRule(egressClass: .blockAll, domains: own, essential: essential, organization: organization)
        #expect(blocked.allows(name("pypi.org")) == nil)
    }

    @Test func anAnswerEntersTheKernelOnlyUnderThePolicyItWasAllowedBy() throws {
        let own = try DomainAllowList.parseLines("mine.example\n")
        let other = try DomainAllowList.parseLines("other.example\n")
        let decided = ResolverDirectory.Entry(egressClass: .allowList, domains: own)
        #expect(decided.stillHolds(in: EgressState.Entry(egressClass: .allowList, networks: [], domains: own)))
        // Networks are the kernel's business, not the resolver's: a change there keeps the answer.
        #expect(decided.stillHolds(in: EgressState.Entry(egressClass: .allowList, networks: [try IPv4CIDR.parse("10.0.0.0/8")], domains: own)))
        // Gone, moved to another class (a lowered tier), or another list (cleared, replaced): refused.
        #expect(!decided.stillHolds(in: nil))
        for egressClass in [SandboxEgress.Class.restricted, .blockAll, .open] {
            #expect(!decided.stillHolds(in: EgressState.Entry(egressClass: egressClass, networks: [], domains: own)), "\(egressClass)")
        }
        #expect(!decided.stillHolds(in: EgressState.Entry(egressClass: .allowList, networks: [], domains: other)))
        #expect(!decided.stillHolds(in: EgressState.Entry(egressClass: .allowList, networks: [], domains: nil)))
        let restricted = ResolverDirectory.Entry(egressClass: .restricted, domains: nil)
        #expect(!restricted.stillHolds(in: EgressState.Entry(egressClass: .restricted, networks: [], domains: own)))
        #expect(restricted.stillHolds(in: EgressState.Entry(egressClass: .restricted, networks: [], domains: nil)))
    }

    @Test func dropCountersAreReadByAddress() {
        let json = """
            {"nftables": [{"metainfo": {"version": "1.0.6"}}, {"set": {"family": "inet", "name": "drops_never_v4", "table": "porthole",
             "type": "ipv4_addr", "flags": ["dynamic"], "elem": [
               {"elem": {"val": "10.0.0.2", "counter": {"packets": 3, "bytes": 180}}},
               {"elem": {"val": "10.0.0.3", "counter": {"packets": 0, "bytes": 0}}},
               {"elem": {"val": "not an address", "counter": {"packets": 9, "bytes": 0}}}]}}]}
            """
        #expect(NftablesDropCounters.parse(json) == [Self.a: 3, .ipv4(IPv4Address(10, 0, 0, 3)): 0])
        #expect(NftablesDropCounters.parse("{\"nftables\": [{\"set\": {\"name\": \"drops_never_v6\"}}]}").isEmpty)
        #expect(NftablesDropCounters.parse("not json").isEmpty)
    }
}

@Suite("RefusalLogLimiter")
struct RefusalLogLimiterTests {
    @Test func oneLinePerSandboxAndReasonPerIntervalWithTheRestCounted() {
        var limiter = RefusalLogLimiter(interval: 10, maximumEntries: 3)
        let a = RefusalLogLimiter.Key(client: "10.0.0.2", reason: "name_not_allowed")
        let b = RefusalLogLimiter.Key(client: "10.0.0.2", reason: "rate_limited")
        #expect(limiter.admit(a, now: 100) == 0)
        #expect(limiter.admit(a, now: 101) == nil)
        #expect(limiter.admit(a, now: 109) == nil)
        #expect(limiter.admit(b, now: 109) == 0, "another reason is another line")
        #expect(limiter.admit(a, now: 110) == 2, "the next line says how many were held back")
        #expect(limiter.admit(a, now: 111) == nil)
        // Bounded: past the maximum, keys whose interval ended are forgotten.
        for client in 0..<10 {
            #expect(limiter.admit(.init(client: "10.0.1.\(client)", reason: "blocked"), now: 200 + UInt64(client) * 20) == 0)
        }
    }
}
