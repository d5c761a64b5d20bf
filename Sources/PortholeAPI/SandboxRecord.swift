/// A sandbox as the admin API shows it: the stored policy record in the API's field names.
public struct SandboxRecord: Sendable, Hashable, Codable {
    public var id: String
    public var target: String
    public var isPublic: Bool
    /// The preview token (secret): shown to the admin API's callers, who hand it to their users.
    public var previewToken: String
    public var tokenGeneration: UInt32
    public var networkBlockAll: Bool
    /// Normalized comma-separated IPv4 CIDRs; `nil`: full access (subject to the tier).
    public var networkAllowList: String?
    /// Normalized comma-separated DNS names and `*.name` wildcards; `nil`: none.
    public var domainAllowList: String?
    public var tier: Int
    /// The organisation the sandbox belongs to (``Organization``), absent for none.
    public var organizationId: String?
    public var labels: [String: String]
    public var hostRewrite: Bool
    public var state: SandboxState
    /// Unix seconds.
    public var createdAt: Int64
    /// Unix seconds.
    public var updatedAt: Int64
    /// On answers to writes: allow-list entries stored in another spelling than given: host bits
    /// cleared (`192.168.1.0/16` → `192.168.0.0/16`), names lowercased and without the trailing dot
    /// (`PyPI.org.` → `pypi.org`). Absent when nothing was changed.
    public var normalizations: [AllowListNormalization]?

    public init(
        id: String, target: String, isPublic: Bool, previewToken: String, tokenGeneration: UInt32, networkBlockAll: Bool,
        networkAllowList: String?, domainAllowList: String?, tier: Int, labels: [String: String], hostRewrite: Bool,
        state: SandboxState, createdAt: Int64, updatedAt: Int64, normalizations: [AllowListNormalization]? = nil,
        organizationId: String? = nil
    ) {
        self.id = id
        self.target = target
        self.isPublic = isPublic
        self.previewToken = previewToken
        self.tokenGeneration = tokenGeneration
        self.networkBlockAll = networkBlockAll
        self.networkAllowList = networkAllowList
        self.domainAllowList = domainAllowList
        self.tier = tier
        self.organizationId = organizationId
        self.labels = labels
        self.hostRewrite = hostRewrite
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.normalizations = normalizations
    }

    private enum CodingKeys: String, CodingKey {
        case id, target
        case isPublic = "public"
        case previewToken, tokenGeneration, networkBlockAll, networkAllowList, domainAllowList, tier, organizationId, labels
        case hostRewrite, state, createdAt, updatedAt
        // The wire keeps the spelling it was published with (Swift identifiers are American).
        case normalizations = "normalisations"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        target = try container.decode(String.self, forKey: .target)
        isPublic = try container.decode(Bool.self, forKey: .isPublic)
        previewToken = try container.decode(String.self, forKey: .previewToken)
        tokenGeneration = try container.decode(UInt32.self, forKey: .tokenGeneration)
        networkBlockAll = try container.decode(Bool.self, forKey: .networkBlockAll)
        networkAllowList = try container.decodeIfPresent(String.self, forKey: .networkAllowList)
        domainAllowList = try container.decodeIfPresent(String.self, forKey: .domainAllowList)
        tier = try container.decode(Int.self, forKey: .tier)
        organizationId = try container.decodeIfPresent(String.self, forKey: .organizationId)
        labels = try container.decode([String: String].self, forKey: .labels)
        hostRewrite = try container.decode(Bool.self, forKey: .hostRewrite)
        state = try container.decode(SandboxState.self, forKey: .state)
        createdAt = try container.decode(Int64.self, forKey: .createdAt)
        updatedAt = try container.decode(Int64.self, forKey: .updatedAt)
        normalizations = try container.decodeIfPresent([AllowListNormalization].self, forKey: .normalizations)
    }

    /// `networkAllowList` and `domainAllowList` are always present (`null` for none), so "no list" is explicit.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(target, forKey: .target)
        try container.encode(isPublic, forKey: .isPublic)
        try container.encode(previewToken, forKey: .previewToken)
        try container.encode(tokenGeneration, forKey: .tokenGeneration)
        try container.encode(networkBlockAll, forKey: .networkBlockAll)
        if let networkAllowList {
            try container.encode(networkAllowList, forKey: .networkAllowList)
        } else {
            try container.encodeNil(forKey: .networkAllowList)
        }
        if let domainAllowList {
            try container.encode(domainAllowList, forKey: .domainAllowList)
        } else {
            try container.encodeNil(forKey: .domainAllowList)
        }
        try container.encode(tier, forKey: .tier)
        // Absent rather than null when none: tools that follow ids between operations (schemathesis's
        // links) would otherwise send "null" as an organisation id.
        try container.encodeIfPresent(organizationId, forKey: .organizationId)
        try container.encode(labels, forKey: .labels)
        try container.encode(hostRewrite, forKey: .hostRewrite)
        try container.encode(state, forKey: .state)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encodeIfPresent(normalizations, forKey: .normalizations)
    }
}
