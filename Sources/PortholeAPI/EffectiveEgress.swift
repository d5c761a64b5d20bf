/// `GET /v1/sandboxes/{id}/egress`: what the egress firewall enforces for one sandbox, as
/// ``SandboxEgress/of(_:)`` decides it from the record (the one rule `porthole egress` renders).
///
/// It is the decision, not the kernel's state: the addresses the filtering resolver adds for the
/// allowed names, and the per-host drop counters, are kept by the egress agent on each host and are
/// not reported here (yet).
public struct EffectiveEgress: Sendable, Hashable, Codable {
    public var sandboxId: String
    /// `block_all`, `restricted`, `allow_list` or `open`.
    public var egressClass: EgressClass
    /// The address the sandbox's packets come from; `nil` when its target is a host name.
    public var source: String?
    /// For `allow_list`: the networks it may reach, normalized.
    public var networks: [String]
    /// For `allow_list`: the names it may resolve, and so reach, normalized.
    public var domains: [String]
    /// Whether the essential services (package, container and source registries) are reachable on top
    /// of the above: for `restricted` and `allow_list`.
    public var essentialServices: Bool
    /// Why the egress cannot be enforced (and so is none at all), or `nil`.
    public var unenforceable: String?
    /// What the egress agent on the sandbox's host last reported it enforces, or `nil` when no
    /// agent has reported for the sandbox's current address (none runs, or it has not caught up).
    public var enforcement: Enforcement?

    /// An ``EgressReport`` as the API shows it: addresses still live, with their remaining lifetime.
    public struct Enforcement: Sendable, Hashable, Codable {
        public struct ResolvedAddress: Sendable, Hashable, Codable {
            public var name: String
            public var address: String
            /// Unix seconds.
            public var expiresAt: Int64
            public var expiresInSeconds: Int64
            /// In a set shared with other sandboxes (essential services, organisation list).
            public var shared: Bool
        }

        public var host: String
        /// Unix seconds; refreshed every minute while the agent runs.
        public var reportedAt: Int64
        /// The class the kernel applies (`block_all` while several sandboxes claim the address).
        public var appliedClass: EgressClass
        public var conflictsWith: [String]
        public var resolvedAddresses: [ResolvedAddress]
        public var droppedPackets: EgressReport.DroppedPackets

        public init(_ report: EgressReport, now: Int64) {
            host = report.host
            reportedAt = report.reportedAt
            appliedClass = report.appliedClass
            conflictsWith = report.conflictsWith
            resolvedAddresses = report.resolvedAddresses.filter { $0.expiresAt > now }.map {
                ResolvedAddress(name: $0.name, address: $0.address, expiresAt: $0.expiresAt, expiresInSeconds: $0.expiresAt - now, shared: $0.shared)
            }
            droppedPackets = report.droppedPackets
        }
    }

    public init(
        sandboxId: String, egressClass: EgressClass, source: String?, networks: [String], domains: [String], essentialServices: Bool,
        unenforceable: String?, enforcement: Enforcement? = nil
    ) {
        self.sandboxId = sandboxId
        self.egressClass = egressClass
        self.source = source
        self.networks = networks
        self.domains = domains
        self.essentialServices = essentialServices
        self.unenforceable = unenforceable
        self.enforcement = enforcement
    }

    private enum CodingKeys: String, CodingKey {
        case sandboxId
        case egressClass = "class"
        case source, networks, domains, essentialServices, unenforceable, enforcement
    }

    /// `source` and `unenforceable` are always present, `null` when there is none.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sandboxId, forKey: .sandboxId)
        try container.encode(egressClass, forKey: .egressClass)
        if let source { try container.encode(source, forKey: .source) } else { try container.encodeNil(forKey: .source) }
        try container.encode(networks, forKey: .networks)
        try container.encode(domains, forKey: .domains)
        try container.encode(essentialServices, forKey: .essentialServices)
        if let unenforceable {
            try container.encode(unenforceable, forKey: .unenforceable)
        } else {
            try container.encodeNil(forKey: .unenforceable)
        }
        if let enforcement { try container.encode(enforcement, forKey: .enforcement) } else { try container.encodeNil(forKey: .enforcement) }
    }
}
