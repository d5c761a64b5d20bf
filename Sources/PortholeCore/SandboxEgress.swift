/// What one sandbox may send, decided from its policy record: the one rule the egress firewall
/// renders (``PortholeEgress``) and the admin API reports (`GET /v1/sandboxes/{id}/egress`).
///
/// | record | class |
/// |---|---|
/// | `networkBlockAll` (whatever the tier: the stricter setting wins) | ``Class/blockAll`` |
/// | tier 1 or 2 (or a stored tier outside 1…4) | ``Class/restricted``: the essential services, and its organisation's allow lists |
/// | `networkAllowList` or `domainAllowList` (or both) | ``Class/allowList``: those networks, the addresses resolved for those names, and the essential services |
/// | nothing set, tier 3 or 4 | ``Class/open``: everything but the never-reachable set |
///
/// The sandbox is recognised by its `target`, which must be an address literal: a host name
/// cannot be matched against a packet's source, so such a sandbox gets no egress at all (fail
/// closed) and ``unenforceableReason`` says why.
public struct SandboxEgress: Sendable, Hashable {
    public typealias Class = EgressClass

    /// The address the sandbox's packets come from.
    public enum Source: Sendable, Hashable, CustomStringConvertible {
        case ipv4(IPv4Address)
        case ipv6(IPv6Address)

        public var description: String {
            switch self {
            case .ipv4(let address): address.description
            case .ipv6(let address): address.description
            }
        }
    }

    public let sandboxID: String
    /// `nil` when the target is not an address literal: the sandbox has no egress.
    public let source: Source?
    public let egressClass: Class
    /// For ``Class/allowList``: the networks it may reach (besides the essential services); for
    /// ``Class/restricted``: its organisation's network allow list.
    public let allowedNetworks: [IPv4CIDR]
    /// For ``Class/allowList`` with a `domainAllowList` (``Class/restricted``: its organisation's):
    /// the names it may resolve, and so reach (besides the essential services). The filtering
    /// resolver answers these; the firewall then lets through the addresses it answered with. `nil`
    /// when there is no domain allow list.
    public let allowedDomains: DomainAllowList?

    public init(
        sandboxID: String, source: Source?, egressClass: Class, allowedNetworks: [IPv4CIDR] = [], allowedDomains: DomainAllowList? = nil
    ) {
        self.sandboxID = sandboxID
        self.source = source
        self.egressClass = egressClass
        let listed = egressClass == .allowList || egressClass == .restricted
        self.allowedNetworks = listed ? allowedNetworks : []
        self.allowedDomains = listed ? allowedDomains : nil
    }

    /// Whether the essential-services list (``DomainAllowList/defaultEssentialServices``) applies: a
    /// restricted or allow-list sandbox may always reach its package and source registries; a blocked
    /// one reaches nothing, an open one everything anyway.
    public var allowsEssentialServices: Bool {
        egressClass == .restricted || egressClass == .allowList
    }

    /// The egress of `policy`. A stored allow list that no longer parses (written by an older
    /// version, or by hand) allows nothing rather than everything. With both lists set, the sandbox
    /// may reach the union: the networks, and the addresses of the names. `organization`: the
    /// sandbox's (``SandboxPolicy/organizationID``), whose allow lists a restricted sandbox gets.
    public static func of(_ policy: SandboxPolicy, organization: Organization? = nil) -> SandboxEgress {
        let source = Self.source(of: policy.target)
        if policy.networkBlockAll {
            return SandboxEgress(sandboxID: policy.id, source: source, egressClass: .blockAll)
        }
        // A tier outside 1…4 in the store is treated as the most restricted one (fail closed).
        if policy.organizationTier?.networkPolicyIsLocked ?? true {
            let own = organization.flatMap { $0.id == policy.organizationID ? $0 : nil }
            return SandboxEgress(
                sandboxID: policy.id, source: source, egressClass: .restricted, allowedNetworks: networks(own?.networkAllowList),
                allowedDomains: domains(own?.domainAllowList)
            )
        }
        if policy.networkAllowList != nil || policy.domainAllowList != nil {
            return SandboxEgress(
                sandboxID: policy.id, source: source, egressClass: .allowList, allowedNetworks: networks(policy.networkAllowList),
                allowedDomains: domains(policy.domainAllowList)
            )
        }
        return SandboxEgress(sandboxID: policy.id, source: source, egressClass: .open)
    }

    private static func networks(_ list: String?) -> [IPv4CIDR] {
        list.map { (try? NetworkAllowList.parse($0, maxEntries: Int.max).entries) ?? [] } ?? []
    }

    private static func domains(_ list: String?) -> DomainAllowList? {
        list.map { (try? DomainAllowList.parse($0, maxEntries: Int.max)) ?? DomainAllowList(entries: []) }
    }

    /// Why this sandbox's egress cannot be enforced (and so is none at all), if it cannot.
    public var unenforceableReason: String? {
        source == nil ? "its target is not an IPv4 or IPv6 address, so its packets cannot be recognised: it has no egress" : nil
    }

    /// The source a packet (or a DNS query) from `address` comes from, if `address` is an address
    /// literal (an IPv4-mapped IPv6 one counts as the IPv4 address).
    public static func source(of target: String) -> Source? {
        if target.utf8.contains(UInt8(ascii: ":")) {
            guard let address = try? IPv6Address.parse(target) else { return nil }
            // An IPv4-mapped target is the IPv4 sandbox it names.
            if let mapped = address.ipv4Mapped { return .ipv4(mapped) }
            return .ipv6(address)
        }
        return (try? IPv4Address.parse(target)).map { .ipv4($0) }
    }
}
