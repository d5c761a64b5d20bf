import PortholeCore
import Testing

@Suite("OrganizationTier")
struct OrganizationTierTests {
    @Test(arguments: [(1, true), (2, true), (3, false), (4, false)])
    func lockedTiers(_ raw: Int, _ locked: Bool) throws {
        let tier = try #require(OrganizationTier(rawValue: raw))
        #expect(tier.networkPolicyIsLocked == locked)
        #expect(tier.description == "organisation tier \(raw)")
    }

    @Test(arguments: [0, 5, -1, Int.max, Int.min])
    func unknownTiers(_ raw: Int) {
        #expect(OrganizationTier(rawValue: raw) == nil)
        do {
            _ = try OrganizationTier(validating: raw)
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "organisation tier \(raw) does not exist; tiers are 1 to 4")
        }
    }

    @Test(arguments: [OrganizationTier.tier1, .tier2])
    func lockedTiersRefuseCustomSettings(_ tier: OrganizationTier) {
        let expected = "organisation tier \(tier.rawValue) has restricted network access that cannot be overridden at the sandbox level"
        for (blockAll, allowList) in [(true, nil), (false, "10.0.0.0/8"), (true, "10.0.0.0/8"), (false, "")] as [(Bool, String?)] {
            do {
                try tier.validate(networkBlockAll: blockAll, networkAllowList: allowList)
                Issue.record("tier \(tier.rawValue) accepted blockAll=\(blockAll) allowList=\(allowList ?? "nil")")
            } catch {
                #expect(error.message == expected)
                #expect(error.description == expected)
            }
        }
    }

    /// A domain allow list would widen the operator's restricted set as much as a network one.
    @Test(arguments: [OrganizationTier.tier1, .tier2])
    func lockedTiersRefuseADomainAllowList(_ tier: OrganizationTier) {
        for (allowList, domains) in [(nil, "pypi.org"), ("10.0.0.0/8", "pypi.org"), (nil, "")] as [(String?, String)] {
            #expect(throws: OrganizationTierError.self, "\(domains)") {
                try tier.validate(networkBlockAll: false, networkAllowList: allowList, domainAllowList: domains)
            }
        }
    }

    @Test(arguments: OrganizationTier.allCases)
    func defaultsAreAlwaysAccepted(_ tier: OrganizationTier) throws {
        try tier.validate(networkBlockAll: false, networkAllowList: nil)
        try tier.validate(networkBlockAll: false, networkAllowList: nil, domainAllowList: nil)
    }

    @Test(arguments: [OrganizationTier.tier3, .tier4])
    func unlockedTiersAcceptCustomSettings(_ tier: OrganizationTier) throws {
        try tier.validate(networkBlockAll: true, networkAllowList: nil)
        try tier.validate(networkBlockAll: false, networkAllowList: "10.0.0.0/8")
        try tier.validate(networkBlockAll: true, networkAllowList: "10.0.0.0/8")
        try tier.validate(networkBlockAll: false, networkAllowList: nil, domainAllowList: "pypi.org")
        try tier.validate(networkBlockAll: false, networkAllowList: "10.0.0.0/8", domainAllowList: "pypi.org,*.github.com")
    }

    @Test func orderingAndPolicyAccessor() throws {
        #expect(OrganizationTier.tier1 < .tier2)
        #expect(OrganizationTier.allCases.map(\.rawValue) == [1, 2, 3, 4])
        #expect(try OrganizationTier(validating: 2) == .tier2)
        var policy = SandboxPolicy(id: "abc", target: "10.0.0.2", previewToken: "t", tier: 1)
        #expect(policy.organizationTier == .tier1)
        policy.tier = 9
        #expect(policy.organizationTier == nil)
    }
}
