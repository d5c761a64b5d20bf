/// An organisation: the owner of API keys and of the sandboxes created with them. Its tier (1–4)
/// decides the network limits of all its sandboxes: tiers 1 and 2 are restricted to the essential
/// services, the deployment's organisation allow list and the organisation's own allow lists
/// below, and cannot choose their own.
public struct Organization: Sendable, Hashable, Codable {
    /// Lowercase letters, digits and `-` (the sandbox id rules).
    public var id: String
    public var tier: Int
    /// For tiers 1 and 2: IPv4 CIDRs its sandboxes may reach besides the essential services,
    /// normalized and comma-separated; `nil`: none.
    public var networkAllowList: String?
    /// For tiers 1 and 2: names (and `*.name`) its sandboxes may resolve and reach; `nil`: none.
    public var domainAllowList: String?
    /// Unix seconds.
    public var createdAt: Int64
    /// Unix seconds.
    public var updatedAt: Int64

    public init(
        id: String, tier: Int, networkAllowList: String? = nil, domainAllowList: String? = nil, createdAt: Int64, updatedAt: Int64
    ) {
        self.id = id
        self.tier = tier
        self.networkAllowList = networkAllowList
        self.domainAllowList = domainAllowList
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    private enum CodingKeys: String, CodingKey { case id, tier, networkAllowList, domainAllowList, createdAt, updatedAt }

    /// The lists are always present (`null` for none).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(tier, forKey: .tier)
        try container.encode(networkAllowList, forKey: .networkAllowList)
        try container.encode(domainAllowList, forKey: .domainAllowList)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// Body of `POST /v1/organizations`.
public struct OrganizationCreateRequest: Sendable, Hashable, Codable {
    public var id: String
    /// Default 3.
    public var tier: Int?
    public var networkAllowList: String?
    public var domainAllowList: String?

    public init(id: String, tier: Int? = nil, networkAllowList: String? = nil, domainAllowList: String? = nil) {
        self.id = id
        self.tier = tier
        self.networkAllowList = networkAllowList
        self.domainAllowList = domainAllowList
    }
}

/// Body of `PATCH /v1/organizations/{id}`: the fields to change (`null` clears a list).
public struct OrganizationUpdateRequest: Sendable, Hashable, Encodable {
    public var tier: Int?
    public var networkAllowList: FieldUpdate<String>?
    public var domainAllowList: FieldUpdate<String>?

    public init(tier: Int? = nil, networkAllowList: FieldUpdate<String>? = nil, domainAllowList: FieldUpdate<String>? = nil) {
        self.tier = tier
        self.networkAllowList = networkAllowList
        self.domainAllowList = domainAllowList
    }

    private enum CodingKeys: String, CodingKey { case tier, networkAllowList, domainAllowList }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(tier, forKey: .tier)
        try container.encodeUpdate(networkAllowList, forKey: .networkAllowList)
        try container.encodeUpdate(domainAllowList, forKey: .domainAllowList)
    }
}

/// `GET /v1/organizations`: every organisation, by id.
public struct OrganizationList: Sendable, Hashable, Codable {
    public var items: [Organization]

    public init(items: [Organization]) {
        self.items = items
    }
}
