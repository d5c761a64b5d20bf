/// Body of `POST /v1/sandboxes`. Absent fields take the platform's defaults: private, full network
/// access (subject to the tier), tier 3, no labels, no host rewrite; an absent id is generated.
public struct SandboxCreateRequest: Sendable, Hashable, Codable {
    public var id: String?
    public var target: String
    public var isPublic: Bool?
    public var networkBlockAll: Bool?
    /// Comma-separated IPv4 CIDRs.
    public var networkAllowList: String?
    /// Comma-separated DNS names and `*.name` wildcards (``DomainAllowList``).
    public var domainAllowList: String?
    public var labels: [String: String]?
    public var tier: Int?
    public var hostRewrite: Bool?
    /// The organisation the sandbox belongs to; it takes the organisation's tier.
    public var organizationId: String?

    public init(
        id: String? = nil, target: String, isPublic: Bool? = nil, networkBlockAll: Bool? = nil, networkAllowList: String? = nil,
        domainAllowList: String? = nil, labels: [String: String]? = nil, tier: Int? = nil, hostRewrite: Bool? = nil,
        organizationId: String? = nil
    ) {
        self.id = id
        self.target = target
        self.isPublic = isPublic
        self.networkBlockAll = networkBlockAll
        self.networkAllowList = networkAllowList
        self.domainAllowList = domainAllowList
        self.labels = labels
        self.tier = tier
        self.hostRewrite = hostRewrite
        self.organizationId = organizationId
    }

    private enum CodingKeys: String, CodingKey {
        case id, target
        case isPublic = "public"
        case networkBlockAll, networkAllowList, domainAllowList, labels, tier, hostRewrite, organizationId
    }
}
