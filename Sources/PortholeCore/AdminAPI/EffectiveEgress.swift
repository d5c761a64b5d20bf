/// `GET /v1/sandboxes/{id}/egress`: what the egress firewall enforces for one sandbox, as
/// ``SandboxEgress/of(_:)`` decides it from the record (the one rule `porthole egress` renders).
///
/// It is the decision, not the kernel's state: the addresses the filtering resolver adds for the
/// allowed names, and the per-host drop counters, are kept by the egress agent on each host and are
/// not reported here (yet).
public struct EffectiveEgress: Sendable, Hashable, Codable {
    public var sandboxId: String
    /// `block_all`, `restricted`, `allow_list` or `open`.
    public var egressClass: SandboxEgress.Class
    /// The address the sandbox's packets come from; `nil` when its target is a host name.
    public var source: String?
    /// For `allow_list`: the networks it may reach, normalised.
    public var networks: [String]
    /// For `allow_list`: the names it may resolve, and so reach, normalised.
    public var domains: [String]
    /// Whether the essential services (package, container and source registries) are reachable on top
    /// of the above: for `restricted` and `allow_list`.
    public var essentialServices: Bool
    /// Why the egress cannot be enforced (and so is none at all), or `nil`.
    public var unenforceable: String?

    public init(_ egress: SandboxEgress) {
        sandboxId = egress.sandboxID
        egressClass = egress.egressClass
        source = egress.source?.description
        networks = egress.allowedNetworks.map(\.description)
        domains = egress.allowedDomains?.entries.map(\.description) ?? []
        essentialServices = egress.allowsEssentialServices
        unenforceable = egress.unenforceableReason
    }

    private enum CodingKeys: String, CodingKey {
        case sandboxId, egressClass = "class", source, networks, domains, essentialServices, unenforceable
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
    }
}

extension SandboxEgress.Class: Codable {}
