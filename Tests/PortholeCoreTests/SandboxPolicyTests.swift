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

}
