/// An organisation: the owner of API keys and of the sandboxes created with them. Its tier (1–4)
/// decides the network limits of all its sandboxes: tiers 1 and 2 are restricted to the essential
/// services (and the operator's organisation allow list) and cannot choose their own.
public struct Organization: Sendable, Hashable, Codable {
    /// Lowercase letters, digits and `-` (the sandbox id rules).
    public var id: String
    public var tier: Int
    /// Unix seconds.
    public var createdAt: Int64
    /// Unix seconds.
    public var updatedAt: Int64

    public init(id: String, tier: Int, createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.tier = tier
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Body of `POST /v1/organizations`.
public struct OrganizationCreateRequest: Sendable, Hashable, Codable {
    public var id: String
    /// Default 3.
    public var tier: Int?

    public init(id: String, tier: Int? = nil) {
        self.id = id
        self.tier = tier
    }
}

/// `GET /v1/organizations`: every organisation, by id.
public struct OrganizationList: Sendable, Hashable, Codable {
    public var items: [Organization]

    public init(items: [Organization]) {
        self.items = items
    }
}
