import PortholeCore

/// The addresses each sandbox's DNS answers opened, with the names asked and when they leave the
/// kernel's sets: the agent's own account, for its reports (the kernel keeps no names, and reading
/// every timeout set back would cost a listing of all of them).
struct ResolvedAddressBook {
    private struct Key: Hashable {
        var address: String
        var shared: Bool
    }

    private var bySource: [SandboxEgress.Source: [Key: (name: String, expiresAt: Int64)]] = [:]

    /// `addresses` were put in a set for `lifetime` seconds at `now` (Unix seconds); a later
    /// answer for the same address replaces the earlier, as the kernel's timeout does.
    mutating func record(
        _ source: SandboxEgress.Source, name: String, addresses: [(address: String, lifetime: UInt32)], shared: Bool, now: Int64
    ) {
        var entries = bySource[source] ?? [:]
        for (address, lifetime) in addresses {
            entries[Key(address: address, shared: shared)] = (name, now + Int64(lifetime))
        }
        bySource[source] = entries
    }

    /// Forgets what expired by `now`.
    mutating func prune(now: Int64) {
        for (source, entries) in bySource {
            let live = entries.filter { $0.value.expiresAt > now }
            bySource[source] = live.isEmpty ? nil : live
        }
    }

    /// Forgets the addresses in `source`'s own set (its domain list changed, or the address is
    /// gone) and returns them, for their removal from the kernel. Addresses in the shared sets stay:
    /// they belong to every sandbox of their classes.
    mutating func takeOwn(_ source: SandboxEgress.Source) -> [String] {
        guard let entries = bySource[source] else { return [] }
        let own = entries.keys.filter { !$0.shared }
        let kept = entries.filter { $0.key.shared }
        bySource[source] = kept.isEmpty ? nil : kept
        return own.map(\.address).sorted()
    }

    /// In name, then address order.
    func addresses(of source: SandboxEgress.Source) -> [EgressReport.ResolvedAddress] {
        (bySource[source] ?? [:])
            .map { EgressReport.ResolvedAddress(name: $0.value.name, address: $0.key.address, expiresAt: $0.value.expiresAt, shared: $0.key.shared) }
            .sorted { ($0.name, $0.address, $0.shared ? 1 : 0) < ($1.name, $1.address, $1.shared ? 1 : 0) }
    }
}
