/// Everything Porthole knows about one sandbox: where it lives, who may open its previews,
/// and the network limits the firewall enforces. One record per sandbox, stored by `PolicyStore`.
public struct SandboxPolicy: Sendable, Hashable {
    /// The fields, in one immutable box shared by copies: the proxy copies the policy it looked up
    /// several times per request, and a copy is then one reference count instead of one for each
    /// string and dictionary (measured with uprobes: about 14 of the 240 retains and releases per
    /// proxied request came from these copies). A change (admin API, tests) builds a new box.
    private final class Storage: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private struct Fields: Sendable, Hashable {
        var id: String
        var target: String
        var isPublic: Bool
        var previewToken: String
        var tokenGeneration: UInt32
        var networkBlockAll: Bool
        var networkAllowList: String?
        var domainAllowList: String?
        var tier: Int
        var organizationID: String?
        var labels: [String: String]
        var hostRewrite: Bool
        var state: SandboxState
        var createdAt: Int64
        var updatedAt: Int64
        var revokedGrants: [String: Int64]
    }

    private var storage: Storage

    private mutating func update(_ change: (inout Fields) -> Void) {
        var fields = storage.fields
        change(&fields)
        storage = Storage(fields)
    }

    /// DNS-label-safe id: lowercase letters, digits and `-`, 1…63 characters, not starting or ending with `-`.
    public var id: String {
        get { storage.fields.id }
        set { update { $0.id = newValue } }
    }
    /// Address of the sandbox (IPv4/IPv6 literal or host name); the proxy connects to `target:<port>`.
    public var target: String {
        get { storage.fields.target }
        set { update { $0.target = newValue } }
    }
    /// A public sandbox is open to anyone except on reserved ports.
    public var isPublic: Bool {
        get { storage.fields.isPublic }
        set { update { $0.isPublic = newValue } }
    }
    /// The current preview token (secret). Never logged, never forwarded upstream.
    public var previewToken: String {
        get { storage.fields.previewToken }
        set { update { $0.previewToken = newValue } }
    }
    /// Bumped on every rotation; session cookies carry it, so a rotation invalidates them.
    public var tokenGeneration: UInt32 {
        get { storage.fields.tokenGeneration }
        set { update { $0.tokenGeneration = newValue } }
    }
    /// Block all egress from the sandbox.
    public var networkBlockAll: Bool {
        get { storage.fields.networkBlockAll }
        set { update { $0.networkBlockAll = newValue } }
    }
    /// Normalized comma-separated IPv4 CIDRs (`10.0.0.0/8,172.16.0.0/12`); `nil` means full access (subject to tier).
    public var networkAllowList: String? {
        get { storage.fields.networkAllowList }
        set { update { $0.networkAllowList = newValue } }
    }
    /// Normalized comma-separated DNS names and wildcards (`pypi.org,*.github.com`, see ``DomainAllowList``):
    /// the names the sandbox may resolve, and so reach, besides the essential services; `nil` means none.
    public var domainAllowList: String? {
        get { storage.fields.domainAllowList }
        set { update { $0.domainAllowList = newValue } }
    }
    /// Organisation tier 1…4; tiers 1 and 2 have restricted network access that a sandbox cannot override.
    public var tier: Int {
        get { storage.fields.tier }
        set { update { $0.tier = newValue } }
    }
    /// The organisation the sandbox belongs to (its API key's), `nil` for none. Never changes.
    public var organizationID: String? {
        get { storage.fields.organizationID }
        set { update { $0.organizationID = newValue } }
    }
    public var labels: [String: String] {
        get { storage.fields.labels }
        set { update { $0.labels = newValue } }
    }
    /// Present `Host: localhost:<port>` upstream, for dev servers that check Host (Vite, Next.js).
    public var hostRewrite: Bool {
        get { storage.fields.hostRewrite }
        set { update { $0.hostRewrite = newValue } }
    }
    public var state: SandboxState {
        get { storage.fields.state }
        set { update { $0.state = newValue } }
    }
    /// Unix seconds.
    public var createdAt: Int64 {
        get { storage.fields.createdAt }
        set { update { $0.createdAt = newValue } }
    }
    /// Unix seconds.
    public var updatedAt: Int64 {
        get { storage.fields.updatedAt }
        set { update { $0.updatedAt = newValue } }
    }
    /// Signed preview URLs revoked before their expiry: grant id (``PreviewGrantID``) → the URL's expiry
    /// (unix seconds). Kept in the record so the cached policy carries it to the proxy and the change feed
    /// and cache invalidation propagate it; entries are dropped once the URL has expired anyway
    /// (``pruneRevokedGrants(now:)``), which bounds the map by the revocations of one URL lifetime.
    public var revokedGrants: [String: Int64] {
        get { storage.fields.revokedGrants }
        set { update { $0.revokedGrants = newValue } }
    }

    public static func == (lhs: SandboxPolicy, rhs: SandboxPolicy) -> Bool {
        lhs.storage === rhs.storage || lhs.storage.fields == rhs.storage.fields
    }

    public func hash(into hasher: inout Hasher) {
        storage.fields.hash(into: &hasher)
    }

    public init(
        id: String,
        target: String,
        isPublic: Bool = false,
        previewToken: String,
        tokenGeneration: UInt32 = 1,
        networkBlockAll: Bool = false,
        networkAllowList: String? = nil,
        domainAllowList: String? = nil,
        tier: Int = 3,
        organizationID: String? = nil,
        labels: [String: String] = [:],
        hostRewrite: Bool = false,
        state: SandboxState = .started,
        createdAt: Int64 = 0,
        updatedAt: Int64 = 0,
        revokedGrants: [String: Int64] = [:]
    ) {
        storage = Storage(
            Fields(
                id: id,
                target: target,
                isPublic: isPublic,
                previewToken: previewToken,
                tokenGeneration: tokenGeneration,
                networkBlockAll: networkBlockAll,
                networkAllowList: networkAllowList,
                domainAllowList: domainAllowList,
                tier: tier,
                organizationID: organizationID,
                labels: labels,
                hostRewrite: hostRewrite,
                state: state,
                createdAt: createdAt,
                updatedAt: updatedAt,
                revokedGrants: revokedGrants
            ))
    }
}

// MARK: - Revoked signed preview URLs

extension SandboxPolicy {
    /// Records the revocation of a signed preview URL until `expiresAt`, dropping entries that expired.
    public mutating func revokeGrant(_ grant: PreviewGrantID, expiresAt: Int64, now: Int64) {
        pruneRevokedGrants(now: now)
        if expiresAt > now {
            revokedGrants[grant.description] = max(revokedGrants[grant.description] ?? 0, expiresAt)
        }
    }

    /// Drops revocations of URLs that have expired: an expired URL is refused for its expiry, and the
    /// sessions it started expired with it.
    public mutating func pruneRevokedGrants(now: Int64) {
        revokedGrants = revokedGrants.filter { $0.value > now }
    }
}
