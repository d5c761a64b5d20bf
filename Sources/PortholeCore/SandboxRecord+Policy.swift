public import PortholeAPI

extension AllowListNormalization {
    /// A parser's normalization of an entry of `field` (`networkAllowList`, `domainAllowList`).
    public init(_ normalization: ListNormalization, field: String) {
        self.init(original: normalization.original, normalized: normalization.normalized, field: field)
    }
}

extension SandboxRecord {
    public init(_ policy: SandboxPolicy, normalizations: [NetworkAllowList.Normalization]) {
        self.init(policy, reporting: normalizations.map { AllowListNormalization($0, field: "networkAllowList") })
    }

    public init(_ policy: SandboxPolicy, reporting normalizations: [AllowListNormalization] = []) {
        self.init(
            id: policy.id, target: policy.target, isPublic: policy.isPublic, previewToken: policy.previewToken,
            tokenGeneration: policy.tokenGeneration, networkBlockAll: policy.networkBlockAll, networkAllowList: policy.networkAllowList,
            domainAllowList: policy.domainAllowList, tier: policy.tier, labels: policy.labels, hostRewrite: policy.hostRewrite,
            state: policy.state, createdAt: policy.createdAt, updatedAt: policy.updatedAt,
            normalizations: normalizations.isEmpty ? nil : normalizations, organizationId: policy.organizationID
        )
    }
}
