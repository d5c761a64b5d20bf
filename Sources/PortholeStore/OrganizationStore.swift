public import PortholeCore

/// Organisations and their API keys, kept beside the sandbox records in the same database (so
/// several instances share them). Read by the control plane only, never on the proxy's path.
///
/// Errors are ``PolicyStoreError``s; "exists" and "not found" are answers, not errors.
public protocol OrganizationStore: Sendable {
    func organization(id: String) async throws -> Organization?
    /// Every organisation, by id (a deployment has a handful to thousands).
    func organizations() async throws -> [Organization]
    /// `false` if the id is taken.
    func createOrganization(_ organization: Organization) async throws -> Bool
    /// `false` if there is none with that id.
    func updateOrganization(_ organization: Organization) async throws -> Bool

    /// `false` if the id is taken.
    func createAPIKey(_ key: StoredAPIKey) async throws -> Bool
    func apiKey(id: String) async throws -> StoredAPIKey?
    /// The keys of one organisation, revoked ones included, by id.
    func apiKeys(organizationID: String) async throws -> [StoredAPIKey]
    /// Sets `revokedAt` once; `false` if there is no such key. Revoking a revoked key keeps the
    /// first time.
    func revokeAPIKey(id: String, at time: Int64) async throws -> Bool
}

/// An API key as stored: its public part and the hash of its secret.
public struct StoredAPIKey: Sendable, Hashable {
    public var key: APIKey
    /// Hex HMAC-SHA256 of the secret (``APIKeySecret``).
    public var secretHash: String

    public init(key: APIKey, secretHash: String) {
        self.key = key
        self.secretHash = secretHash
    }
}
