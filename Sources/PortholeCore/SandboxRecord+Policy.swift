public import PortholeAPI

extension AllowListNormalisation {
    /// A parser's normalisation of an entry of `field` (`networkAllowList`, `domainAllowList`).
    public init(_ normalisation: ListNormalisation, field: String) {
        self.init(original: normalisation.original, normalised: normalisation.normalised, field: field)
    }
}

extension SandboxRecord {
    public init(_ policy: SandboxPolicy, normalisations: [NetworkAllowList.Normalisation]) {
        self.init(policy, reporting: normalisations.map { AllowListNormalisation($0, field: "networkAllowList") })
    }

    public init(_ policy: SandboxPolicy, reporting normalisations: [AllowListNormalisation] = []) {
        self.init(
            id: policy.id, target: policy.target, isPublic: policy.isPublic, previewToken: policy.previewToken,
            tokenGeneration: policy.tokenGeneration, networkBlockAll: policy.networkBlockAll, networkAllowList: policy.networkAllowList,
            domainAllowList: policy.domainAllowList, tier: policy.tier, labels: policy.labels, hostRewrite: policy.hostRewrite,
            state: policy.state, createdAt: policy.createdAt, updatedAt: policy.updatedAt,
            normalisations: normalisations.isEmpty ? nil : normalisations
        )
    }
}
