/// Why a sandbox's network settings conflict with its organisation tier.
public struct OrganizationTierError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case networkPolicyLocked(OrganizationTier)
        case unknownTier(Int)
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    static func networkPolicyLocked(_ tier: OrganizationTier) -> OrganizationTierError {
        OrganizationTierError(.networkPolicyLocked(tier))
    }

    /// For callers that validate a raw tier number from an API request.
    public static func unknownTier(_ tier: Int) -> OrganizationTierError {
        OrganizationTierError(.unknownTier(tier))
    }

    public var message: String {
        switch base {
        case .networkPolicyLocked(let tier):
            "organisation tier \(tier.rawValue) has restricted network access that cannot be overridden at the sandbox level"
        case .unknownTier(let tier):
            "organisation tier \(tier) does not exist; tiers are 1 to 4"
        }
    }

    public var description: String { message }
}
