import PortholeCore
import Testing

@Suite("EffectiveEgress")
struct EffectiveEgressTests {
    static let egress = SandboxEgress.of(SandboxPolicy(id: "sb", target: "10.0.0.2", previewToken: "t", domainAllowList: "mine.example"))

    static func report(source: String) -> EgressReport {
        EgressReport(
            sandboxId: "sb", host: "h", reportedAt: 100, source: source, appliedClass: .allowList,
            resolvedAddresses: [
                .init(name: "mine.example", address: "198.51.100.10", expiresAt: 150, shared: false),
                .init(name: "pypi.org", address: "203.0.113.20", expiresAt: 120, shared: true),
            ],
            droppedPackets: .init(blockedAll: 0, neverReachable: 1, notAllowed: 2)
        )
    }

    @Test func aReportShowsOnlyAddressesStillLiveWithTheirRemainingLifetime() throws {
        let shown = EffectiveEgress(Self.egress, report: Self.report(source: "10.0.0.2"), now: 130)
        let enforcement = try #require(shown.enforcement)
        #expect(enforcement.resolvedAddresses.map(\.address) == ["198.51.100.10"])
        #expect(enforcement.resolvedAddresses.first?.expiresInSeconds == 20)
        #expect(enforcement.droppedPackets == .init(blockedAll: 0, neverReachable: 1, notAllowed: 2))
        #expect(enforcement.host == "h" && enforcement.reportedAt == 100 && enforcement.appliedClass == .allowList)
    }

    @Test func aReportAboutAnotherAddressIsNotShown() {
        // The record's address changed and no agent has caught up: what it reported is about another sandbox.
        #expect(EffectiveEgress(Self.egress, report: Self.report(source: "10.0.0.3"), now: 130).enforcement == nil)
        #expect(EffectiveEgress(Self.egress, report: nil, now: 130).enforcement == nil)
        let hostName = SandboxEgress.of(SandboxPolicy(id: "sb", target: "sandbox.internal", previewToken: "t"))
        #expect(EffectiveEgress(hostName, report: Self.report(source: "10.0.0.2"), now: 130).enforcement == nil)
    }

    @Test func sameReportWhateverItsTime() {
        var later = Self.report(source: "10.0.0.2")
        later.reportedAt = 900
        #expect(later.saysTheSame(as: Self.report(source: "10.0.0.2")))
        later.droppedPackets.notAllowed = 3
        #expect(!later.saysTheSame(as: Self.report(source: "10.0.0.2")))
    }
}
