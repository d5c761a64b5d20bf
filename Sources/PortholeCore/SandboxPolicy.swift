/// Everything Porthole knows about one sandbox: where it lives, who may open its previews,
/// and the network limits the firewall enforces. One record per sandbox, stored by `PolicyStore`.
public struct SandboxPolicy: Sendable, Hashable, Codable {
    /// DNS-label-safe id: lowercase letters, digits and `-`, 1…63 characters, not starting or ending with `-`.
    public var id: String
    /// Address of the sandbox (IPv4/IPv6 literal or host name); the proxy connects to `target:<port>`.
    public var target: String
    /// A public sandbox is open to anyone except on reserved ports.
    public var isPublic: Bool
    /// The current preview token (secret). Never logged, never forwarded upstream.
    public var previewToken: String
    /// Bumped on every rotation; session cookies carry it, so a rotation invalidates them.
    public var tokenGeneration: UInt32
    /// Block all egress from the sandbox.
    public var networkBlockAll: Bool
    /// Normalised comma-separated IPv4 CIDRs (`10.0.0.0/8,172.16.0.0/12`); `nil` means full access (subject to tier).
    public var networkAllowList: String?
    /// Organisation tier 1…4; tiers 1 and 2 have restricted network access that a sandbox cannot override.
    public var tier: Int
    public var labels: [String: String]
    /// Present `Host: localhost:<port>` upstream, for dev servers that check Host (Vite, Next.js).
    public var hostRewrite: Bool
    public var state: SandboxState
    /// Unix seconds.
    public var createdAt: Int64
    /// Unix seconds.
    public var updatedAt: Int64

    public init(
        id: String,
        target: String,
        isPublic: Bool = false,
        previewToken: String,
        tokenGeneration: UInt32 = 1,
        networkBlockAll: Bool = false,
        networkAllowList: String? = nil,
        tier: Int = 3,
        labels: [String: String] = [:],
        hostRewrite: Bool = false,
        state: SandboxState = .started,
        createdAt: Int64 = 0,
        updatedAt: Int64 = 0
    ) {
        self.id = id
        self.target = target
        self.isPublic = isPublic
        self.previewToken = previewToken
        self.tokenGeneration = tokenGeneration
        self.networkBlockAll = networkBlockAll
        self.networkAllowList = networkAllowList
        self.tier = tier
        self.labels = labels
        self.hostRewrite = hostRewrite
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public enum SandboxState: String, Sendable, Hashable, Codable {
    case started
    case stopped
}
