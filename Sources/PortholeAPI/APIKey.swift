/// An API key of an organisation, as listed: never the key itself, which is shown once when it
/// is made (``CreatedAPIKey``) and stored only as a hash.
public struct APIKey: Sendable, Hashable, Codable {
    /// Public, and the start of the key (`ph_<id>_…`): names the key in lists and logs.
    public var id: String
    public var organizationId: String
    public var name: String
    /// Unix seconds.
    public var createdAt: Int64
    /// Unix seconds; `null` while the key works.
    public var revokedAt: Int64?

    public init(id: String, organizationId: String, name: String, createdAt: Int64, revokedAt: Int64? = nil) {
        self.id = id
        self.organizationId = organizationId
        self.name = name
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    private enum CodingKeys: String, CodingKey { case id, organizationId, name, createdAt, revokedAt }

    /// `revokedAt` is always present, `null` while the key works.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(organizationId, forKey: .organizationId)
        try container.encode(name, forKey: .name)
        try container.encode(createdAt, forKey: .createdAt)
        if let revokedAt {
            try container.encode(revokedAt, forKey: .revokedAt)
        } else {
            try container.encodeNil(forKey: .revokedAt)
        }
    }
}

/// `POST /v1/organizations/{id}/api-keys`: the new key, whose secret `key` is shown only here.
public struct CreatedAPIKey: Sendable, Hashable, Codable {
    public var apiKey: APIKey
    /// `ph_<id>_<secret>`: the bearer token of the Daytona-compatible API (`DAYTONA_API_KEY`).
    public var key: String

    public init(apiKey: APIKey, key: String) {
        self.apiKey = apiKey
        self.key = key
    }
}

/// Body of `POST /v1/organizations/{id}/api-keys`.
public struct APIKeyCreateRequest: Sendable, Hashable, Codable {
    /// What the key is for, shown in lists; default "".
    public var name: String?

    public init(name: String? = nil) {
        self.name = name
    }
}

/// `GET /v1/organizations/{id}/api-keys`: the organisation's keys, revoked ones included, by id.
public struct APIKeyList: Sendable, Hashable, Codable {
    public var items: [APIKey]

    public init(items: [APIKey]) {
        self.items = items
    }
}
