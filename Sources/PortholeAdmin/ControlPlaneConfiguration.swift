public import PortholeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the control plane needs to know about the deployment it manages.
public struct ControlPlaneConfiguration: Sendable {
    /// Preview links are `https://<port>-<id>.<baseDomain>`.
    public var baseDomain: String
    /// The port browsers reach previews on, shown in links unless it is 443.
    public var previewPort: Int
    /// Signs preview URLs; the proxy's cookie secret (``PortholeCore/AccessRules/cookieSecret``).
    public var signingSecret: [UInt8]
    /// Most entries a network allow list may have.
    public var maximumAllowListEntries: Int
    /// Most entries a domain allow list may have.
    public var maximumDomainAllowListEntries: Int
    /// Tier of a sandbox created without one.
    public var defaultTier: Int
    /// Most signed preview URLs one sandbox may have revoked and not yet expired; past it, rotating
    /// the preview token (which ends every URL at once) is the answer.
    public var maximumRevokedGrants: Int
    /// Seconds the store may be unreachable before `/readyz` says not ready. Every instance shares
    /// one database: a blip must not take them all out of the balancer at once, while they go on
    /// serving what they have cached. A store that can never work again (its file replaced) is not
    /// ready at once.
    public var storeOutageGrace: Int64 = 0
    /// Unix seconds; tests inject a clock.
    public var now: @Sendable () -> Int64

    public init(
        baseDomain: String = "preview.localhost",
        previewPort: Int = 443,
        signingSecret: [UInt8],
        maximumAllowListEntries: Int = NetworkAllowList.defaultMaxEntries,
        maximumDomainAllowListEntries: Int = DomainAllowList.defaultMaxEntries,
        defaultTier: Int = 3,
        maximumRevokedGrants: Int = 1_000,
        now: @escaping @Sendable () -> Int64 = ControlPlaneConfiguration.systemClock
    ) {
        self.baseDomain = baseDomain
        self.previewPort = previewPort
        self.signingSecret = signingSecret
        self.maximumAllowListEntries = maximumAllowListEntries
        self.maximumDomainAllowListEntries = maximumDomainAllowListEntries
        self.defaultTier = defaultTier
        self.maximumRevokedGrants = maximumRevokedGrants
        self.now = now
    }

    public static let systemClock: @Sendable () -> Int64 = { Int64(time(nil)) }

    /// `https://<port>-<id>.<baseDomain>[:previewPort]`.
    func previewOrigin(id: String, port: Int) -> String {
        let suffix = previewPort == 443 ? "" : ":\(previewPort)"
        return "https://\(port)-\(id).\(baseDomain)\(suffix)"
    }
}
