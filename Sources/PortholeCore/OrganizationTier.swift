/// The organisation tier of a sandbox's owner, 1…4. It decides whether a sandbox may choose its own
/// network limits: tiers 1 and 2 get a restricted network set by the operator (new, unverified accounts
/// are the ones abused for scanning and mining), tiers 3 and 4 get full access by default and may
/// restrict themselves.
public enum OrganizationTier: Int, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case tier1 = 1
    case tier2 = 2
    case tier3 = 3
    case tier4 = 4

    /// For a tier number from an API request or the store: throws a message naming the valid range.
    public init(validating rawValue: Int) throws(OrganizationTierError) {
        guard let tier = OrganizationTier(rawValue: rawValue) else { throw .unknownTier(rawValue) }
        self = tier
    }

    /// True for tiers 1 and 2: the network policy comes from the tier and a sandbox cannot override it.
    public var networkPolicyIsLocked: Bool {
        self <= .tier2
    }

    /// Refuses sandbox-level network settings on a locked tier. Settings equal to the defaults
    /// (`networkBlockAll == false`, no allow lists) are always accepted, so a client that echoes back the
    /// defaults does not fail. The allow-list syntax itself is checked by ``NetworkAllowList/parse(_:maxEntries:)``
    /// and ``DomainAllowList/parse(_:maxEntries:)``.
    ///
    /// A domain allow list is refused like a network allow list: on a locked tier the operator's
    /// restricted set is the whole network, and a sandbox's names would widen it.
    public func validate(networkBlockAll: Bool, networkAllowList: String?, domainAllowList: String? = nil) throws(OrganizationTierError) {
        guard networkPolicyIsLocked else { return }
        if networkBlockAll || networkAllowList != nil || domainAllowList != nil {
            throw .networkPolicyLocked(self)
        }
    }

    public static func < (lhs: OrganizationTier, rhs: OrganizationTier) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String { "organisation tier \(rawValue)" }
}

extension SandboxPolicy {
    /// The tier as a checked value; `nil` if the stored integer is outside 1…4.
    public var organizationTier: OrganizationTier? {
        OrganizationTier(rawValue: tier)
    }
}
