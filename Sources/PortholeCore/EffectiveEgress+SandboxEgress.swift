public import PortholeAPI

extension EffectiveEgress {
    /// The egress of a record, with the agent's report when it is about the record's current address.
    public init(_ egress: SandboxEgress, report: EgressReport?, now: Int64) {
        self.init(egress)
        if let report, report.source == egress.source?.description {
            enforcement = Enforcement(report, now: now)
        }
    }

    public init(_ egress: SandboxEgress) {
        self.init(
            sandboxId: egress.sandboxID,
            egressClass: egress.egressClass,
            source: egress.source?.description,
            networks: egress.allowedNetworks.map(\.description),
            domains: egress.allowedDomains?.entries.map(\.description) ?? [],
            essentialServices: egress.allowsEssentialServices,
            unenforceable: egress.unenforceableReason
        )
    }
}
