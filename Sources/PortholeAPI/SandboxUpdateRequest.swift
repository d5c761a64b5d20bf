/// Body of `PATCH /v1/sandboxes/{id}`: only the fields present change. `networkAllowList: null` and
/// `domainAllowList: null` clear that allow list (with neither left: full access, subject to the tier).
public struct SandboxUpdateRequest: Sendable, Hashable, Encodable {
    public var target: String?
    public var isPublic: Bool?
    public var networkBlockAll: Bool?
    public var networkAllowList: FieldUpdate<String>?
    public var domainAllowList: FieldUpdate<String>?
    /// Replaces all labels.
    public var labels: [String: String]?
    public var tier: Int?
    public var hostRewrite: Bool?
    public var state: SandboxState?

    public init(
        target: String? = nil, isPublic: Bool? = nil, networkBlockAll: Bool? = nil, networkAllowList: FieldUpdate<String>? = nil,
        domainAllowList: FieldUpdate<String>? = nil, labels: [String: String]? = nil, tier: Int? = nil, hostRewrite: Bool? = nil, state: SandboxState? = nil
    ) {
        self.target = target
        self.isPublic = isPublic
        self.networkBlockAll = networkBlockAll
        self.networkAllowList = networkAllowList
        self.domainAllowList = domainAllowList
        self.labels = labels
        self.tier = tier
        self.hostRewrite = hostRewrite
        self.state = state
    }

    private enum CodingKeys: String, CodingKey {
        case target
        case isPublic = "public"
        case networkBlockAll, networkAllowList, domainAllowList, labels, tier, hostRewrite, state
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(target, forKey: .target)
        try container.encodeIfPresent(isPublic, forKey: .isPublic)
        try container.encodeIfPresent(networkBlockAll, forKey: .networkBlockAll)
        try container.encodeUpdate(networkAllowList, forKey: .networkAllowList)
        try container.encodeUpdate(domainAllowList, forKey: .domainAllowList)
        try container.encodeIfPresent(labels, forKey: .labels)
        try container.encodeIfPresent(tier, forKey: .tier)
        try container.encodeIfPresent(hostRewrite, forKey: .hostRewrite)
        try container.encodeIfPresent(state, forKey: .state)
    }
}
