public import PortholeCore

/// What the kernel must hold for the sandboxes: one entry per source address. Kept apart from the
/// records because two records may claim one address (a reused IP, a stale record): such an
/// address gets ``SandboxEgress/Class/blockAll`` until only one claims it (fail closed), since
/// neither record's policy can be told to be the right one.
public struct EgressState: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var egressClass: SandboxEgress.Class
        public var networks: [IPv4CIDR]
        /// The resolver's business, not the kernel's: names it resolves for this sandbox.
        public var domains: DomainAllowList? = nil
    }

    public private(set) var entries: [SandboxEgress.Source: Entry] = [:]
    /// Addresses claimed by more than one sandbox, with their ids (sorted).
    public private(set) var conflicts: [SandboxEgress.Source: [String]] = [:]

    public init() {}

    /// What the resolver looks up per query.
    var resolverEntries: [SandboxEgress.Source: ResolverDirectory.Entry] {
        entries.mapValues(ResolverDirectory.Entry.init)
    }

    public init(_ sandboxes: some Sequence<SandboxEgress>) {
        var claims: [SandboxEgress.Source: [SandboxEgress]] = [:]
        for sandbox in sandboxes {
            guard let source = sandbox.source else { continue }
            claims[source, default: []].append(sandbox)
        }
        for (source, claimants) in claims {
            set(source, claimedBy: claimants)
        }
    }

    /// Recomputes one address from the records that claim it now (none: it is removed). The agent
    /// calls it for the addresses a batch of changes touched, so a change costs the same with 10
    /// sandboxes or 10,000.
    mutating func set(_ source: SandboxEgress.Source, claimedBy claimants: [SandboxEgress]) {
        switch claimants.count {
        case 0:
            entries[source] = nil
            conflicts[source] = nil
        case 1:
            let sandbox = claimants[0]
            entries[source] = Entry(egressClass: sandbox.egressClass, networks: sandbox.allowedNetworks, domains: sandbox.allowedDomains)
            conflicts[source] = nil
        default:
            entries[source] = Entry(egressClass: .blockAll, networks: [])
            conflicts[source] = claimants.map(\.sandboxID).sorted()
        }
    }

    /// The part of this state at `sources`.
    func restricted(to sources: some Sequence<SandboxEgress.Source>) -> EgressState {
        var part = EgressState()
        for source in sources {
            part.entries[source] = entries[source]
            part.conflicts[source] = conflicts[source]
        }
        return part
    }
}
