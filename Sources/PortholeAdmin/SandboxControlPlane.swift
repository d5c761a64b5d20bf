public import PortholeCore
public import PortholeStore
import NIOConcurrencyHelpers

/// Every operation of the admin API on sandbox policies, independent of HTTP: the admin server calls it,
/// and so does `porthole sandbox …` when no server is running (writing the store directly).
///
/// - Validation: every field is checked before anything is written, with an ``AdminAPIError`` naming
///   the field; tier locks are 403.
/// - Durability: a write returns after the store has made it durable (SQLite `synchronous=FULL`), so
///   an answered request survives `kill -9`.
/// - Freshness: after each write the policy cache (when given) forgets the sandbox, so the very next
///   proxied request reads the new record; other processes learn it from the store's change feed.
/// - Consistency: read-modify-write cycles of one sandbox are serialised in this process, and so
///   are an organisation's changes with the creation of its sandboxes (a sandbox made while its
///   organisation's tier changes gets the new tier, whichever comes first).
public final class SandboxControlPlane: Sendable {
    /// When the store was first seen unavailable in the current outage (Unix seconds).
    private let unavailableSince = NIOLockedValueBox<Int64?>(nil)
    let store: any PolicyStore
    private let cache: PolicyCache?
    let configuration: ControlPlaneConfiguration
    /// Keyed by sandbox id, and by ``organizationLockKey(_:)`` for an organisation.
    let locks = KeyedWriteLock()

    /// The organisation the current request acts for when it is limited to one (an API key's, on
    /// `/api`). Every read and write of one sandbox here then treats another organisation's sandbox
    /// as not found, judged on the record it reads (for writes under the sandbox's lock): a caller
    /// that checked a sandbox was its own does not touch, or read the token of, another
    /// organisation's sandbox created under the same id after a delete in between.
    @TaskLocal public static var organizationScope: String?

    private static func inScope(_ policy: SandboxPolicy) -> Bool {
        guard let scope = organizationScope else { return true }
        return policy.organizationID == scope
    }

    /// The lock of an organisation's changes and of its sandboxes' creation (sandbox ids, DNS-safe,
    /// hold no colon, so the keys never meet).
    static func organizationLockKey(_ id: String) -> String { "organization:" + id }

    public init(store: any PolicyStore, cache: PolicyCache?, configuration: ControlPlaneConfiguration) {
        self.store = store
        self.cache = cache
        self.configuration = configuration
    }

    // MARK: - Sandboxes

    public func create(_ request: SandboxCreateRequest) async throws -> SandboxRecord {
        try await create(request, mayAwaitTarget: false)
    }

    /// `mayAwaitTarget`: an empty target makes a sandbox in state `creating`, which starts once its
    /// target is set (the Daytona-compatible API, whose clients cannot name an address).
    /// `organization`: the caller's (an API key's), whose tier the sandbox takes; else the request's
    /// `organizationId` names one (the admin token creating for an organisation).
    func create(_ request: SandboxCreateRequest, mayAwaitTarget: Bool, organization: Organization? = nil) async throws -> SandboxRecord {
        if let id = request.id { try Self.checkID(id, field: "id") }
        let awaitsTarget = mayAwaitTarget && request.target.isEmpty
        if !awaitsTarget { try Self.checkTarget(request.target) }
        try Self.checkLabels(request.labels ?? [:])
        guard let ownerID = organization?.id ?? request.organizationId else {
            return try await create(request, awaitsTarget: awaitsTarget, owner: nil)
        }
        try Self.checkID(ownerID, field: "organizationId")
        // Read again under the organisation's lock: its tier is what it is now, and a tier change
        // waits until this sandbox exists (its rewrite pass then finds it).
        return try await locks.withLock(Self.organizationLockKey(ownerID)) {
            guard let owner = try await self.store.organization(id: ownerID) else {
                var error = AdminAPIError.organizationNotFound(ownerID)
                // The request named it; an API key whose organisation went away names none.
                if organization == nil { error.field = "organizationId" }
                throw error
            }
            return try await self.create(request, awaitsTarget: awaitsTarget, owner: owner)
        }
    }

    private func create(_ request: SandboxCreateRequest, awaitsTarget: Bool, owner: Organization?) async throws -> SandboxRecord {
        let labels = request.labels ?? [:]
        // A conflict with the organisation's state (its tier may change), not a malformed request.
        if let owner, let requested = request.tier, requested != owner.tier {
            throw AdminAPIError(
                status: 409, code: "tier_conflict",
                message: "a sandbox of organisation '\(owner.id)' has its tier (\(owner.tier)); leave tier out or change the organisation's",
                field: "tier"
            )
        }
        let tier = try Self.checkTier(owner?.tier ?? request.tier ?? configuration.defaultTier)
        let blockAll = request.networkBlockAll ?? false
        let allowList = try request.networkAllowList.map { try parseAllowList($0) }
        let domainAllowList = try request.domainAllowList.map { try parseDomainAllowList($0) }
        try Self.checkTierLock(
            tier, networkBlockAll: blockAll, networkAllowList: allowList?.description, domainAllowList: domainAllowList?.description
        )

        let now = configuration.now()
        var policy = SandboxPolicy(
            id: request.id ?? Self.generatedID(),
            target: request.target,
            isPublic: request.isPublic ?? false,
            previewToken: PreviewToken.generate(),
            // Random, not 1: signed preview URLs and session cookies name the sandbox by id and
            // generation, so a sandbox deleted and created again under the same id (by anyone:
            // ids are one namespace) must not accept what was issued for the old one.
            tokenGeneration: UInt32.random(in: 1...UInt32.max),
            networkBlockAll: blockAll,
            networkAllowList: allowList?.description,
            domainAllowList: domainAllowList?.description,
            tier: tier.rawValue,
            organizationID: owner?.id,
            labels: labels,
            hostRewrite: request.hostRewrite ?? false,
            state: awaitsTarget ? .creating : .started,
            createdAt: now,
            updatedAt: now
        )
        var attempts = 0
        while true {
            do {
                try await store.create(policy)
                break
            } catch let error as PolicyStoreError where error.code == .alreadyExists && request.id == nil && attempts < 3 {
                // A generated id collided (36^12 ids: practically never); draw another.
                attempts += 1
                policy.id = Self.generatedID()
            } catch let error as PolicyStoreError where error.code == .alreadyExists {
                throw AdminAPIError.sandboxExists(policy.id)
            }
        }
        // A negative entry for this id ("no such sandbox") may be cached from before.
        cache?.invalidate(policy.id)
        return SandboxRecord(policy, reporting: Self.normalizations(allowList, domainAllowList))
    }

    public func sandbox(id: String) async throws -> SandboxRecord {
        SandboxRecord(try await load(id))
    }

    /// One page, ordered by id. `label` is `key=value`; `cursor` is the previous page's `nextCursor`.
    public func list(label: String? = nil, cursor: String? = nil, limit: Int? = nil) async throws -> SandboxPage {
        var filter: (key: String, value: String)? = nil
        if let label {
            guard let parsed = SandboxFieldRules.parseLabelFilter(label) else {
                throw AdminAPIError.invalid("label", "label must be key=value with a valid label key, got \"\(SandboxFieldRules.shown(label))\"")
            }
            filter = parsed
        }
        return try await list(label: filter, organizationID: nil, cursor: cursor, limit: limit)
    }

    private func list(label filter: (key: String, value: String)?, organizationID: String?, cursor: String?, limit: Int?) async throws
        -> SandboxPage
    {
        if let cursor {
            guard SandboxFieldRules.isValidID(cursor) else {
                throw AdminAPIError.invalid("cursor", "cursor must be the nextCursor of a previous page")
            }
        }
        let size = limit ?? SandboxFieldRules.defaultPageSize
        guard SandboxFieldRules.pageSizes.contains(size) else {
            throw AdminAPIError.invalid(
                "limit", "limit must be \(SandboxFieldRules.pageSizes.lowerBound)…\(SandboxFieldRules.pageSizes.upperBound), got \(size)"
            )
        }
        // One more than asked tells whether another page exists without an empty last page.
        let rows = try await store.list(label: filter, organizationID: organizationID, after: cursor, limit: size + 1)
        let items = rows.prefix(size).map { SandboxRecord($0) }
        return SandboxPage(items: Array(items), nextCursor: rows.count > size ? items.last?.id : nil)
    }

    /// Like ``list(label:cursor:limit:)`` with any number of labels, all of which must match. The
    /// store filters by the first; the rest are checked here, reading on until the page is full.
    func list(labels: [String: String], organizationID: String?, cursor: String?, limit: Int?) async throws -> SandboxPage {
        let filters = labels.sorted { $0.key < $1.key }
        for (key, _) in filters where SandboxFieldRules.parseLabelFilter(key + "=") == nil {
            throw AdminAPIError.invalid("labels", "\"\(SandboxFieldRules.shown(key))\" is not a valid label name")
        }
        let size = limit ?? SandboxFieldRules.defaultPageSize
        guard filters.count > 1 else {
            return try await list(
                label: filters.first.map { (key: $0.key, value: $0.value) }, organizationID: organizationID, cursor: cursor, limit: size
            )
        }
        var items: [SandboxRecord] = []
        var after = cursor
        while items.count < size {
            let page = try await list(
                label: (key: filters[0].key, value: filters[0].value), organizationID: organizationID, cursor: after,
                limit: SandboxFieldRules.pageSizes.upperBound
            )
            for item in page.items where filters.allSatisfy({ item.labels[$0.key] == $0.value }) {
                items.append(item)
                if items.count == size { return SandboxPage(items: items, nextCursor: item.id) }
            }
            guard let next = page.nextCursor else { break }
            after = next
        }
        return SandboxPage(items: items, nextCursor: nil)
    }

    public func update(id: String, _ request: SandboxUpdateRequest) async throws -> SandboxRecord {
        try Self.checkID(id, field: "id")
        if let target = request.target { try Self.checkTarget(target) }
        if let labels = request.labels { try Self.checkLabels(labels) }
        let tier = try request.tier.map { try Self.checkTier($0) }
        let network = try parseNetwork(
            blockAll: request.networkBlockAll, allowList: request.networkAllowList, domainAllowList: request.domainAllowList
        )
        return try await modify(id) { policy in
            if let target = request.target { policy.target = target }
            if let isPublic = request.isPublic { policy.isPublic = isPublic }
            if let labels = request.labels { policy.labels = labels }
            if let hostRewrite = request.hostRewrite { policy.hostRewrite = hostRewrite }
            if let state = request.state {
                policy.state = state
            } else if policy.state == .creating, request.target != nil {
                // The orchestrator placed the sandbox: it runs from now on.
                policy.state = .started
            }
            if policy.state != .creating, policy.target.isEmpty {
                throw AdminAPIError(
                    status: 409, code: "sandbox_has_no_target",
                    message: "sandbox '\(id)' has no address yet; set its target (which starts it)", field: "target"
                )
            }
            if let tier, let organization = policy.organizationID, tier.rawValue != policy.tier {
                // As at creation: the organisation's tier is its sandboxes' (set-tier changes both).
                throw AdminAPIError(
                    status: 409, code: "tier_conflict",
                    message:
                        "a sandbox of organisation '\(organization)' has its tier (\(policy.tier)); leave tier out or change the organisation's",
                    field: "tier"
                )
            }
            if let tier { policy.tier = tier.rawValue }
            return try Self.applyNetwork(&policy, network, tierChanged: tier != nil)
        }
    }

    public func delete(id: String) async throws {
        try Self.checkID(id, field: "id")
        let deleted = try await locks.withLock(id) { () async throws -> Bool in
            if Self.organizationScope != nil {
                guard let policy = try await self.store.policy(id: id), Self.inScope(policy) else { return false }
            }
            return try await self.store.delete(id: id)
        }
        cache?.invalidate(id)
        guard deleted else { throw AdminAPIError.sandboxNotFound(id) }
    }

    public func setPublic(id: String, _ isPublic: Bool) async throws -> SandboxRecord {
        try Self.checkID(id, field: "id")
        return try await modify(id) { policy in
            policy.isPublic = isPublic
            return []
        }
    }

    public func setNetworkSettings(id: String, _ request: NetworkSettingsRequest) async throws -> SandboxRecord {
        try Self.checkID(id, field: "id")
        let network = try parseNetwork(
            blockAll: request.networkBlockAll, allowList: request.networkAllowList, domainAllowList: request.domainAllowList
        )
        return try await modify(id) { policy in
            try Self.applyNetwork(&policy, network, tierChanged: false)
        }
    }

    /// What the egress firewall enforces for the sandbox, decided from its record by the rule
    /// `porthole egress` renders (``PortholeCore/SandboxEgress/of(_:)``), with what the agent on its
    /// host last reported (resolved addresses, drop counters).
    public func egress(id: String) async throws -> EffectiveEgress {
        let policy = try await load(id)
        var organization: Organization? = nil
        if let organizationID = policy.organizationID { organization = try await store.organization(id: organizationID) }
        let egress = SandboxEgress.of(policy, organization: organization)
        let report = try await store.egressReport(sandboxID: id)
        return EffectiveEgress(egress, report: report, now: configuration.now())
    }

    /// A new preview token and token generation: the old token, every session cookie it made and every
    /// signed preview URL stop working on the next request.
    public func rotatePreviewToken(id: String) async throws -> SandboxRecord {
        try Self.checkID(id, field: "id")
        return try await modify(id) { policy in
            policy.previewToken = PreviewToken.generate()
            policy.tokenGeneration &+= 1
            // Every signed URL carried the old generation; their revocations are moot.
            policy.revokedGrants = [:]
            return []
        }
    }

    // MARK: - Preview links

    public func previewLink(id: String, port: Int) async throws -> PreviewLink {
        try Self.checkPort(port)
        let policy = try await load(id)
        return PreviewLink(sandboxId: id, port: port, url: configuration.previewOrigin(id: id, port: port), token: policy.previewToken)
    }

    public func signPreviewURL(id: String, port: Int, expiresInSeconds: Int64? = nil) async throws -> SignedPreviewURL {
        try Self.checkPort(port)
        let lifetime = expiresInSeconds ?? SandboxFieldRules.defaultSignedURLLifetime
        guard SandboxFieldRules.signedURLLifetimes.contains(lifetime) else {
            throw AdminAPIError.invalid(
                "expiresInSeconds",
                "expiresInSeconds must be \(SandboxFieldRules.signedURLLifetimes.lowerBound)…\(SandboxFieldRules.signedURLLifetimes.upperBound) seconds, got \(lifetime)"
            )
        }
        let policy = try await load(id)
        let expiresAt = configuration.now() + lifetime
        let claims = SignedPreviewToken.Claims(
            sandboxID: id, port: UInt16(port), tokenGeneration: policy.tokenGeneration, expiresAt: expiresAt, grant: .generate()
        )
        let token = SignedPreviewToken.issue(claims, secret: configuration.signingSecret)
        return SignedPreviewURL(
            sandboxId: id, port: port, url: configuration.previewOrigin(id: id, port: port) + "/?preview_token=" + token,
            token: token, expiresAt: expiresAt
        )
    }

    /// Revokes one signed preview URL and the browser sessions it started. Idempotent; a URL that
    /// already expired (or whose token generation was rotated away) is reported revoked without a write.
    public func expireSignedPreviewURL(id: String, port: Int, token: String) async throws -> SignedPreviewURLRevocation {
        try Self.checkPort(port)
        try Self.checkID(id, field: "id")
        guard let claims = SignedPreviewToken.claims(of: token, secret: configuration.signingSecret),
            claims.sandboxID == id, claims.port == UInt16(port)
        else {
            throw AdminAPIError(
                status: 404, code: "signed_url_not_found",
                message: "this is not a signed preview URL token of sandbox '\(id)' port \(port); pass the token from the signed URL",
                field: "token"
            )
        }
        let revocation = SignedPreviewURLRevocation(sandboxId: id, port: port, grantId: claims.grant.description, expiresAt: claims.expiresAt)
        let now = configuration.now()
        let maximum = configuration.maximumRevokedGrants
        _ = try await modify(
            id,
            skipWriteIf: { policy in
                claims.expiresAt <= now || claims.tokenGeneration != policy.tokenGeneration
                    || policy.revokedGrants[claims.grant.description] != nil
            }
        ) { policy in
            policy.revokeGrant(claims.grant, expiresAt: claims.expiresAt, now: now)
            guard policy.revokedGrants.count <= maximum else {
                throw AdminAPIError(
                    status: 409, code: "too_many_revocations",
                    message:
                        "sandbox '\(id)' already has \(maximum) revoked signed URLs that have not expired; rotate its preview token instead, which ends every signed URL at once"
                )
            }
            return []
        }
        return revocation
    }

    // MARK: - Health

    /// True when the store answers a read and takes writes, or has been unavailable for less than
    /// ``ControlPlaneConfiguration/storeOutageGrace``.
    public func isReady() async -> Bool {
        let now = configuration.now()
        do {
            try await store.checkAvailable()
            unavailableSince.withLockedValue { $0 = nil }
            return true
        } catch let error as PolicyStoreError where error.code == .unavailable {
            let since = unavailableSince.withLockedValue { since in
                if since == nil { since = now }
                return since!
            }
            return now - since < configuration.storeOutageGrace
        } catch {
            return false
        }
    }

    // MARK: - Private

    private func load(_ id: String) async throws -> SandboxPolicy {
        try Self.checkID(id, field: "id")
        guard let policy = try await store.policy(id: id), Self.inScope(policy) else { throw AdminAPIError.sandboxNotFound(id) }
        return policy
    }

    /// Reads, changes and writes one record under its lock, then invalidates the cache. `change` returns
    /// the allow-list normalizations to report.
    func modify(
        _ id: String,
        skipWriteIf: @escaping @Sendable (SandboxPolicy) -> Bool = { _ in false },
        _ change: @escaping @Sendable (inout SandboxPolicy) throws -> [AllowListNormalization]
    ) async throws -> SandboxRecord {
        let now = configuration.now()
        let record = try await locks.withLock(id) { () async throws -> SandboxRecord in
            guard var policy = try await self.store.policy(id: id), Self.inScope(policy) else {
                throw AdminAPIError.sandboxNotFound(id)
            }
            if skipWriteIf(policy) { return SandboxRecord(policy) }
            let normalizations = try change(&policy)
            policy.pruneRevokedGrants(now: now)
            policy.updatedAt = max(now, policy.createdAt)
            do {
                try await self.store.update(policy)
            } catch let error as PolicyStoreError where error.code == .notFound {
                // Deleted by another process between the read and the write.
                throw AdminAPIError.sandboxNotFound(id)
            }
            return SandboxRecord(policy, reporting: normalizations)
        }
        cache?.invalidate(id)
        return record
    }

    func parseAllowList(_ text: String) throws -> NetworkAllowList {
        do {
            return try NetworkAllowList.parse(text, maxEntries: configuration.maximumAllowListEntries)
        } catch {
            throw AdminAPIError.invalid("networkAllowList", "networkAllowList: \(error.message)", code: "invalid_network_allow_list")
        }
    }

    func parseDomainAllowList(_ text: String) throws -> DomainAllowList {
        do {
            return try DomainAllowList.parse(text, maxEntries: configuration.maximumDomainAllowListEntries)
        } catch {
            throw AdminAPIError.invalid("domainAllowList", "domainAllowList: \(error.message)", code: "invalid_domain_allow_list")
        }
    }

    /// The network fields of a write, parsed (and so checked) before the record is read.
    private struct NetworkUpdate: Sendable {
        var blockAll: Bool?
        var allowList: FieldUpdate<NetworkAllowList>?
        var domainAllowList: FieldUpdate<DomainAllowList>?

        var touchesNetwork: Bool { blockAll != nil || allowList != nil || domainAllowList != nil }
    }

    private func parseNetwork(
        blockAll: Bool?, allowList: FieldUpdate<String>?, domainAllowList: FieldUpdate<String>?
    ) throws -> NetworkUpdate {
        NetworkUpdate(
            blockAll: blockAll,
            allowList: try allowList.map { update in
                switch update {
                case .set(let text): .set(try parseAllowList(text))
                case .clear: .clear
                }
            },
            domainAllowList: try domainAllowList.map { update in
                switch update {
                case .set(let text): .set(try parseDomainAllowList(text))
                case .clear: .clear
                }
            }
        )
    }

    /// Applies network fields and enforces the tier lock on the result, when the request touched the
    /// network settings or the tier.
    private static func applyNetwork(_ policy: inout SandboxPolicy, _ update: NetworkUpdate, tierChanged: Bool) throws -> [AllowListNormalization] {
        var networkList: NetworkAllowList? = nil
        var domainList: DomainAllowList? = nil
        if let blockAll = update.blockAll { policy.networkBlockAll = blockAll }
        switch update.allowList {
        case .set(let parsed)?:
            policy.networkAllowList = parsed.description
            networkList = parsed
        case .clear?:
            policy.networkAllowList = nil
        case nil:
            break
        }
        switch update.domainAllowList {
        case .set(let parsed)?:
            policy.domainAllowList = parsed.description
            domainList = parsed
        case .clear?:
            policy.domainAllowList = nil
        case nil:
            break
        }
        if update.touchesNetwork || tierChanged {
            let tier = try checkTier(policy.tier)
            try checkTierLock(
                tier, networkBlockAll: policy.networkBlockAll, networkAllowList: policy.networkAllowList,
                domainAllowList: policy.domainAllowList
            )
        }
        return normalizations(networkList, domainList)
    }

    /// What the answer to a write reports: network entries first, then names, each in the order given.
    private static func normalizations(_ networks: NetworkAllowList?, _ domains: DomainAllowList?) -> [AllowListNormalization] {
        (networks?.normalizations ?? []).map { AllowListNormalization($0, field: "networkAllowList") }
            + (domains?.normalizations ?? []).map { AllowListNormalization($0, field: "domainAllowList") }
    }

    /// The 403 names the first custom setting a locked tier refuses, in the order the record lists them.
    private static func checkTierLock(
        _ tier: OrganizationTier, networkBlockAll: Bool, networkAllowList: String?, domainAllowList: String?
    ) throws {
        do {
            try tier.validate(networkBlockAll: networkBlockAll, networkAllowList: networkAllowList, domainAllowList: domainAllowList)
        } catch {
            let field = networkBlockAll ? "networkBlockAll" : networkAllowList != nil ? "networkAllowList" : "domainAllowList"
            throw AdminAPIError.networkPolicyLocked(error.message, field: field)
        }
    }

    static func checkID(_ id: String, field: String) throws(AdminAPIError) {
        guard SandboxFieldRules.isValidID(id) else {
            throw AdminAPIError.invalid(
                field,
                "\(field) must be 1–\(SandboxFieldRules.idMaximumLength) lowercase letters, digits or '-', not starting or ending with '-' (it becomes part of a DNS name), got \"\(SandboxFieldRules.shown(id))\"",
                code: "invalid_id"
            )
        }
    }

    private static func checkTarget(_ target: String) throws {
        guard SandboxFieldRules.isValidTarget(target) else {
            throw AdminAPIError.invalid(
                "target",
                "target must be the sandbox's address: an IPv4 or IPv6 literal (no brackets, no port) or a host name, got \"\(SandboxFieldRules.shown(target))\""
            )
        }
    }

    private static func checkLabels(_ labels: [String: String]) throws {
        if let problem = SandboxFieldRules.labelsProblem(labels) {
            throw AdminAPIError.invalid("labels", problem)
        }
    }

    static func checkTier(_ tier: Int) throws -> OrganizationTier {
        do {
            return try OrganizationTier(validating: tier)
        } catch {
            throw AdminAPIError.invalid("tier", error.message)
        }
    }

    static func checkPort(_ port: Int) throws {
        guard SandboxFieldRules.ports.contains(port) else {
            throw AdminAPIError.invalid("port", "port must be 1…65535, got \(port)", code: "invalid_port")
        }
    }

    /// 12 lowercase letters and digits: sandbox and API key ids.
    static func generatedID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var generator = SystemRandomNumberGenerator()
        return String(decoding: (0..<12).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
    }
}
