import PortholeCore
@testable import PortholeEgress
import Testing

@Suite("EgressRuleset")
struct EgressRulesetTests {
    static let configuration = try! EgressConfiguration(sandboxInterfaces: ["psb*", "tap0"])

    static func sandbox(_ id: String, _ target: String, _ egressClass: SandboxEgress.Class, _ networks: [String] = []) -> SandboxEgress {
        var policy = SandboxPolicy(id: id, target: target, previewToken: "t")
        switch egressClass {
        case .blockAll: policy.networkBlockAll = true
        case .restricted: policy.tier = 1
        case .allowList: policy.networkAllowList = networks.joined(separator: ",")
        case .open: break
        }
        return SandboxEgress.of(policy)
    }

    @Test func theTableReplacesItselfInOneTransaction() {
        let state = EgressState([
            Self.sandbox("a", "10.0.0.2", .allowList, ["192.0.2.0/24", "198.51.100.7/32"]),
            Self.sandbox("b", "10.0.0.3", .blockAll),
            Self.sandbox("c", "fd00::3", .open),
        ])
        let text = EgressRuleset.replaceTable(Self.configuration, state: state)
        #expect(text.hasPrefix("table inet porthole {}\ndelete table inet porthole\ntable inet porthole {"))
        #expect(text.contains("        iifname \"psb*\" jump sandbox\n        iifname \"tap0\" jump sandbox\n"))
        #expect(text.contains("add element inet porthole class_v4 { 10.0.0.2 : jump allow_list, 10.0.0.3 : jump block_all }\n"))
        #expect(text.contains("add element inet porthole class_v6 { fd00::3 : jump open }\n"))
        #expect(text.contains("add element inet porthole allow_cidr_v4 { 10.0.0.2 . 192.0.2.0/24, 10.0.0.2 . 198.51.100.7/32 }\n"))
    }

    @Test func oneChangedSandboxChangesOnlyItsElements() throws {
        var sandboxes = (1...1000).map { Self.sandbox("s\($0)", "10.1.\($0 / 256).\($0 % 256)", .open) }
        let before = EgressState(sandboxes)
        sandboxes[41] = Self.sandbox("s42", "10.1.0.42", .allowList, ["192.0.2.0/24"])
        let update = try #require(EgressRuleset.update(Self.configuration, from: before, to: EgressState(sandboxes)))
        #expect(
            update == """
                delete element inet porthole class_v4 { 10.1.0.42 }
                add element inet porthole class_v4 { 10.1.0.42 : jump allow_list }
                add element inet porthole allow_cidr_v4 { 10.1.0.42 . 192.0.2.0/24 }

                """)
        #expect(EgressRuleset.update(Self.configuration, from: before, to: before) == nil)
    }

    @Test func networksAreAddedAndRemovedOneByOne() throws {
        let before = EgressState([Self.sandbox("a", "10.0.0.2", .allowList, ["192.0.2.0/24", "198.51.100.0/24"])])
        let after = EgressState([Self.sandbox("a", "10.0.0.2", .allowList, ["198.51.100.0/24", "203.0.113.0/24"])])
        #expect(
            EgressRuleset.update(Self.configuration, from: before, to: after) == """
                delete element inet porthole allow_cidr_v4 { 10.0.0.2 . 192.0.2.0/24 }
                add element inet porthole allow_cidr_v4 { 10.0.0.2 . 203.0.113.0/24 }

                """)
        // Deleted: every element of the sandbox goes, its drop counters too (each added first, so
        // the delete cannot fail on a counter that never counted).
        #expect(
            EgressRuleset.update(Self.configuration, from: before, to: EgressState()) == """
                delete element inet porthole class_v4 { 10.0.0.2 }
                delete element inet porthole allow_cidr_v4 { 10.0.0.2 . 192.0.2.0/24, 10.0.0.2 . 198.51.100.0/24 }
                add element inet porthole drops_blocked_v4 { 10.0.0.2 }
                delete element inet porthole drops_blocked_v4 { 10.0.0.2 }
                add element inet porthole drops_never_v4 { 10.0.0.2 }
                delete element inet porthole drops_never_v4 { 10.0.0.2 }
                add element inet porthole drops_refused_v4 { 10.0.0.2 }
                delete element inet porthole drops_refused_v4 { 10.0.0.2 }

                """)
    }

    @Test func anAddressClaimedTwiceIsBlocked() {
        let state = EgressState([Self.sandbox("a", "10.0.0.2", .open), Self.sandbox("b", "10.0.0.2", .open)])
        #expect(state.entries[.ipv4(IPv4Address(10, 0, 0, 2))]?.egressClass == .blockAll)
        #expect(state.conflicts[.ipv4(IPv4Address(10, 0, 0, 2))] == ["a", "b"])
    }

    @Test func operatorDeniedNetworksJoinTheNeverSet() throws {
        let configuration = try EgressConfiguration(
            sandboxInterfaces: ["psb*"], deniedNetworks: try AddressRanges.parse("10.99.0.0/16,fd99::/16")
        )
        let text = EgressRuleset.replaceTable(configuration, state: EgressState())
        #expect(text.contains("169.254.0.0/16, 224.0.0.0/4, 240.0.0.0/4, 10.99.0.0/16 }"))
        #expect(text.contains("fd00:ec2::254/128, fd99::/16 }"))
    }

    @Test(arguments: ["", "psb\"; flush ruleset", "a b", "averyveryverylongname*", "*"])
    func interfacePatternsCannotBreakOut(_ pattern: String) {
        #expect(throws: EgressConfigurationError.self) { try EgressConfiguration(sandboxInterfaces: [pattern]) }
    }
}

@Suite("SandboxEgress")
struct SandboxEgressTests {
    @Test func theStricterSettingWins() {
        var policy = SandboxPolicy(id: "a", target: "10.0.0.2", previewToken: "t")
        #expect(SandboxEgress.of(policy).egressClass == .open)
        policy.networkAllowList = "10.0.0.0/8"
        #expect(SandboxEgress.of(policy).egressClass == .allowList)
        #expect(SandboxEgress.of(policy).allowedNetworks.map(\.description) == ["10.0.0.0/8"])
        policy.tier = 2
        #expect(SandboxEgress.of(policy).egressClass == .restricted)
        policy.networkBlockAll = true
        #expect(SandboxEgress.of(policy).egressClass == .blockAll)
        policy.networkBlockAll = false
        policy.tier = 9  // not a tier: the most restricted
        #expect(SandboxEgress.of(policy).egressClass == .restricted)
    }

    @Test func aDomainAllowListMakesAnAllowListSandbox() throws {
        var policy = SandboxPolicy(id: "a", target: "10.0.0.2", previewToken: "t", domainAllowList: "pypi.org,*.github.com")
        let names = SandboxEgress.of(policy)
        #expect(names.egressClass == .allowList)
        #expect(names.allowedNetworks.isEmpty)
        #expect(names.allowedDomains?.description == "pypi.org,*.github.com")
        #expect(names.allowedDomains?.allows("API.github.com.") == true)
        #expect(names.allowedDomains?.allows("github.com") == false)
        #expect(names.allowsEssentialServices)

        // Both lists: the union.
        policy.networkAllowList = "192.0.2.0/24"
        let both = SandboxEgress.of(policy)
        #expect(both.egressClass == .allowList)
        #expect(both.allowedNetworks.map(\.description) == ["192.0.2.0/24"])
        #expect(both.allowedDomains?.description == "pypi.org,*.github.com")

        // Networks only: no domain list at all, not an empty one.
        policy.domainAllowList = nil
        #expect(SandboxEgress.of(policy).allowedDomains == nil)
        #expect(SandboxEgress.of(policy).allowedNetworks.count == 1)
    }

    @Test("a restricted sandbox gets its own organisation's lists, and only its own")
    func aRestrictedSandboxGetsItsOrganizationsLists() {
        let acme = Organization(id: "acme", tier: 2, networkAllowList: "192.0.2.0/24", domainAllowList: "pypi.org", createdAt: 0, updatedAt: 0)
        var policy = SandboxPolicy(id: "a", target: "10.0.0.2", previewToken: "t", tier: 2, organizationID: "acme")
        let member = SandboxEgress.of(policy, organization: acme)
        #expect(member.egressClass == .restricted)
        #expect(member.allowedNetworks.map(\.description) == ["192.0.2.0/24"])
        #expect(member.allowedDomains?.description == "pypi.org")
        var other = acme
        other.id = "beta"
        #expect(SandboxEgress.of(policy, organization: other).allowedNetworks.isEmpty, "another organisation's lists never apply")
        #expect(SandboxEgress.of(policy).allowedDomains == nil)
        // Blocking all still wins; on tier 3 the organisation's lists mean nothing (the sandbox is open).
        policy.networkBlockAll = true
        #expect(SandboxEgress.of(policy, organization: acme).allowedNetworks.isEmpty)
        policy.networkBlockAll = false
        policy.tier = 3
        #expect(SandboxEgress.of(policy, organization: acme) == SandboxEgress.of(policy))
        #expect(SandboxEgress.of(policy, organization: acme).egressClass == .open)
    }

    @Test func theStricterSettingWinsOverADomainAllowList() {
        var policy = SandboxPolicy(id: "a", target: "10.0.0.2", previewToken: "t", domainAllowList: "pypi.org")
        policy.tier = 2
        #expect(SandboxEgress.of(policy).egressClass == .restricted)
        #expect(SandboxEgress.of(policy).allowedDomains == nil)
        policy.tier = 4
        policy.networkBlockAll = true
        #expect(SandboxEgress.of(policy).egressClass == .blockAll)
        #expect(SandboxEgress.of(policy).allowedDomains == nil)
        #expect(!SandboxEgress.of(policy).allowsEssentialServices)
        policy.networkBlockAll = false
        policy.domainAllowList = nil
        #expect(SandboxEgress.of(policy).egressClass == .open)
        #expect(!SandboxEgress.of(policy).allowsEssentialServices)
    }

    /// A stored list that no longer parses (an older version's, or edited by hand) allows no name
    /// rather than every name; the sandbox stays in the allow-list class.
    @Test func anUnparsableStoredDomainListAllowsNothing() throws {
        let policy = SandboxPolicy(id: "a", target: "10.0.0.2", previewToken: "t", domainAllowList: "*.com,pypi.org")
        let egress = SandboxEgress.of(policy)
        #expect(egress.egressClass == .allowList)
        let domains = try #require(egress.allowedDomains)
        #expect(domains.entries.isEmpty && !domains.allows("pypi.org"))
    }

    @Test func aStoredDomainListIsNotCutToTheAPILimit() {
        let eleven = (1...11).map { "n\($0).example" }.joined(separator: ",")
        let policy = SandboxPolicy(id: "a", target: "10.0.0.2", previewToken: "t", domainAllowList: eleven)
        #expect(SandboxEgress.of(policy).allowedDomains?.entries.count == 11)
    }

    @Test(arguments: [
        ("10.0.0.2", "10.0.0.2"), ("fd00::2", "fd00::2"), ("::ffff:10.0.0.2", "10.0.0.2"),
    ])
    func addressTargetsAreSources(_ target: String, _ source: String) {
        let egress = SandboxEgress.of(SandboxPolicy(id: "a", target: target, previewToken: "t"))
        #expect(egress.source?.description == source)
        #expect(egress.unenforceableReason == nil)
    }

    @Test func aHostNameTargetHasNoEgress() {
        let egress = SandboxEgress.of(SandboxPolicy(id: "a", target: "sandbox-a.internal", previewToken: "t"))
        #expect(egress.source == nil)
        #expect(egress.unenforceableReason != nil)
        #expect(EgressState([egress]).entries.isEmpty)
    }
}
