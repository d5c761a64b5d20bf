public import PortholeCore
import PortholeStore

/// Organisations, their tiers and API keys: the same control plane as the sandboxes, over the same
/// store. An organisation's tier is copied into each of its sandboxes' records, which is what the
/// proxy and the egress firewall read: changing the tier rewrites those records (each through the
/// change feed), so the readers never look organisations up.
extension SandboxControlPlane {
    public func createOrganization(_ request: OrganizationCreateRequest) async throws -> Organization {
        try Self.checkID(request.id, field: "id")
        let tier = try Self.checkTier(request.tier ?? configuration.defaultTier)
        let now = configuration.now()
        let organization = Organization(
            id: request.id, tier: tier.rawValue, networkAllowList: try request.networkAllowList.map { try organizationNetworks($0) },
            domainAllowList: try request.domainAllowList.map { try organizationDomains($0) }, createdAt: now, updatedAt: now
        )
        guard try await store.createOrganization(organization) else {
            throw AdminAPIError(
                status: 409, code: "organization_exists", message: "an organisation with id '\(request.id)' already exists", field: "id"
            )
        }
        return organization
    }

    public func organizations() async throws -> OrganizationList {
        OrganizationList(items: try await store.organizations())
    }

    public func organization(id: String) async throws -> Organization {
        try Self.checkID(id, field: "id")
        guard let organization = try await store.organization(id: id) else { throw AdminAPIError.organizationNotFound(id) }
        return organization
    }

    /// Changes the tier or the allow lists of the organisation, then rewrites every sandbox it
    /// has: the tier is copied into each record, and each rewrite goes through the change feed,
    /// which is how the proxies' caches and the egress agents (which read the lists of a
    /// restricted sandbox's organisation) learn of it. On tiers 1 and 2 the sandboxes' own network
    /// settings stay stored but no longer apply (`networkBlockAll` still blocks everything).
    public func updateOrganization(id: String, _ request: OrganizationUpdateRequest) async throws -> Organization {
        try Self.checkID(id, field: "id")
        // One change at a time per organisation, and none while one of its sandboxes is being
        // created: two changes must not each write back the row they read (one would undo the
        // other, e.g. a cleared list restored), nor their passes leave sandboxes on the older tier.
        return try await locks.withLock(Self.organizationLockKey(id)) {
            try await self.updateOrganizationLocked(id: id, request)
        }
    }

    private func updateOrganizationLocked(id: String, _ request: OrganizationUpdateRequest) async throws -> Organization {
        var organization = try await self.organization(id: id)
        if let tier = request.tier { organization.tier = try Self.checkTier(tier).rawValue }
        switch request.networkAllowList {
        case .set(let text)?: organization.networkAllowList = try organizationNetworks(text)
        case .clear?: organization.networkAllowList = nil
        case nil: break
        }
        switch request.domainAllowList {
        case .set(let text)?: organization.domainAllowList = try organizationDomains(text)
        case .clear?: organization.domainAllowList = nil
        case nil: break
        }
        organization.updatedAt = max(configuration.now(), organization.createdAt)
        guard try await store.updateOrganization(organization) else { throw AdminAPIError.organizationNotFound(id) }
        // Sandboxes created after the update above take the new tier themselves; this pass moves
        // the ones made before it.
        let tier = organization.tier
        var after: String? = nil
        repeat {
            let page = try await store.list(label: nil, organizationID: id, after: after, limit: SandboxFieldRules.pageSizes.upperBound)
            for policy in page {
                do {
                    _ = try await modify(policy.id) { policy in
                        policy.tier = tier
                        return []
                    }
                } catch let error as AdminAPIError where error.status == 404 {
                    continue  // deleted meanwhile
                }
            }
            after = page.count == SandboxFieldRules.pageSizes.upperBound ? page.last?.id : nil
        } while after != nil
        return organization
    }

    /// An organisation's lists: the sandboxes' syntax and limits (one rule), stored normalized.
    /// Operators who need more for every restricted organisation have the deployment's list
    /// (`porthole egress --organization-allow-list`).
    private func organizationNetworks(_ text: String) throws -> String {
        try parseAllowList(text).description
    }

    private func organizationDomains(_ text: String) throws -> String {
        try parseDomainAllowList(text).description
    }

    // MARK: - API keys

    /// A new key for the organisation: the answer is the only place its secret ever appears.
    public func createAPIKey(organizationID: String, _ request: APIKeyCreateRequest) async throws -> CreatedAPIKey {
        let organization = try await self.organization(id: organizationID)
        let name = request.name ?? ""
        if let problem = SandboxFieldRules.freeTextProblem(name, named: "name") {
            throw AdminAPIError.invalid("name", problem)
        }
        for _ in 0..<3 {
            let (id, text, hash) = APIKeySecret.generate()
            let key = APIKey(id: id, organizationId: organization.id, name: name, createdAt: configuration.now())
            // A taken id (36^12 of them: practically never) draws another.
            if try await store.createAPIKey(StoredAPIKey(key: key, secretHash: hash)) {
                return CreatedAPIKey(apiKey: key, key: text)
            }
        }
        throw AdminAPIError(status: 500, code: "internal_error", message: "could not draw a free API key id; retry")
    }

    public func apiKeys(organizationID: String) async throws -> APIKeyList {
        let organization = try await self.organization(id: organizationID)
        return APIKeyList(items: try await store.apiKeys(organizationID: organization.id).map(\.key))
    }

    /// Revokes the key at once for every instance (each request looks its key up). Idempotent.
    public func revokeAPIKey(id: String) async throws -> APIKey {
        guard APIKeySecret.isValidID(id) else {
            throw AdminAPIError.invalid("id", "an API key id is \(APIKeySecret.idLength) lowercase letters and digits (ph_<id>_…)")
        }
        guard try await store.revokeAPIKey(id: id, at: configuration.now()), let stored = try await store.apiKey(id: id) else {
            throw AdminAPIError.apiKeyNotFound(id)
        }
        return stored.key
    }

    /// The organisation of a presented API key, or `nil` when it is not a working key (malformed,
    /// unknown, revoked, wrong secret, or its organisation is gone): the caller answers 401 alike.
    func authenticate(apiKey text: some StringProtocol) async throws -> Organization? {
        guard let (id, secret) = APIKeySecret.parse(text), let stored = try await store.apiKey(id: id) else { return nil }
        guard APIKeySecret.matches(secret, storedHash: stored.secretHash), stored.key.revokedAt == nil else { return nil }
        return try await store.organization(id: stored.key.organizationId)
    }
}
