import Foundation
import PortholeCore
import Testing

@Suite("SandboxPolicy")
struct SandboxPolicyTests {
    @Test func theDomainAllowListIsAFieldLikeTheOthers() throws {
        var policy = SandboxPolicy(id: "a", target: "10.0.0.2", previewToken: "t", domainAllowList: "pypi.org,*.github.com")
        let copy = policy
        #expect(policy.domainAllowList == "pypi.org,*.github.com")
        policy.domainAllowList = nil
        // Copies share storage until one changes: the other keeps its value.
        #expect(copy.domainAllowList == "pypi.org,*.github.com")
        #expect(policy != copy)
        policy.domainAllowList = "pypi.org,*.github.com"
        #expect(policy == copy && policy.hashValue == copy.hashValue)
    }

    @Test func codableRoundTripAndOlderEncodings() throws {
        let policy = SandboxPolicy(
            id: "a", target: "10.0.0.2", previewToken: "t", networkAllowList: "10.0.0.0/8", domainAllowList: "pypi.org"
        )
        let data = try JSONEncoder().encode(policy)
        #expect(try JSONDecoder().decode(SandboxPolicy.self, from: data) == policy)

        // Absent when nil, and an encoding from before the field decodes as "no list".
        var without = policy
        without.domainAllowList = nil
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(without)) as? [String: Any])
        #expect(object["domainAllowList"] == nil)
        #expect(try JSONDecoder().decode(SandboxPolicy.self, from: JSONEncoder().encode(without)).domainAllowList == nil)
    }
}
