import PortholeCore

/// The nftables text of Porthole's egress table, and of the changes that keep it in step.
///
/// Per-sandbox state lives only in set and map elements, never in per-sandbox rules or chains: a
/// change is a few element additions and deletions in one transaction, and a packet costs the same
/// hash lookups with 10 sandboxes or 10,000.
///
/// A packet that enters on a sandbox interface:
/// 1. a reply of a connection that came *in* (a preview) is accepted: `ct direction reply`;
/// 2. IPv6 neighbour discovery with the sandbox's router (link-local, hop limit 255) is accepted;
/// 3. a source that does not route back through the interface it came from is dropped (`fib`,
///    strict reverse-path): a sandbox cannot borrow another sandbox's address, or invent one;
/// 4. the source address picks the class chain (`vmap`); an unknown source is dropped: a sandbox
///    that has no record yet, or changed its address, has no network (fail closed);
/// 5. every class but block_all first drops the never-reachable set and the host's own addresses
///    (`fib daddr type local`: Porthole's listeners, the metadata proxy, anything on the host).
///
/// The table is filtered at prerouting, so it sees traffic to the host and traffic routed through
/// it alike, before any NAT.
///
/// With a resolver configured, DNS (UDP and TCP port 53) from sandbox interfaces is DNAT'ed to it,
/// and port 853 (DNS over TLS and QUIC) is dropped: names are resolved only where they are checked.
enum EgressRuleset {
    /// The most a resolved address stays in a set, whatever its TTL.
    static let maximumTTL: UInt32 = 86_400

    /// The lifetime of a resolved address in a set (see ``EgressConfiguration/dnsMinimumTTL``).
    static func timeout(forTTL ttl: UInt32, _ configuration: EgressConfiguration) -> UInt32 {
        min(max(ttl, configuration.dnsMinimumTTL), maximumTTL) + configuration.dnsGrace
    }

    /// Which set a resolved address goes into.
    enum ResolvedSet: Sendable, Hashable {
        /// The sandbox's own (`allow_dns_*`, keyed by source and destination): its domain list.
        case own
        /// Shared by restricted and allow-list sandboxes (`essential_*`): the essential services.
        case essential
        /// Shared by restricted sandboxes (`org_dns_*`): the organisation allow list.
        case organization

        /// The set for a chain of names whose earlier names needed `self` and this one `other`:
        /// a sandbox's own set is the narrowest, then the organisation's, then the essential one.
        func narrowed(by other: ResolvedSet) -> ResolvedSet {
            if self == .own || other == .own { return .own }
            if self == .organization || other == .organization { return .organization }
            return .essential
        }
    }

    /// One resolved address as an element of the set it goes into.
    struct ResolvedElement: Hashable {
        /// `allow_dns_v4`, `essential_v6`, `org_dns_v4`, …
        let set: String
        /// The element's key: `source . address` in a sandbox's own set, the address in a shared one.
        let key: String
        let address: String
        /// The sandbox whose own set holds it; `nil` in a shared set.
        let owner: SandboxEgress.Source?
    }

    /// Where an answered address of `bytes` goes for `source`; `nil` for an address of the other
    /// family in a sandbox's own set (an IPv4 answer for an IPv6 sandbox: nothing it could use),
    /// or one that is not an address at all.
    static func resolvedElement(source: SandboxEgress.Source, bytes: [UInt8], in set: ResolvedSet) -> ResolvedElement? {
        let family: String
        let address: String
        switch bytes.count {
        case 4:
            family = "v4"
            address = IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]).description
        case 16:
            guard let parsed = IPv6Address(bytes: bytes) else { return nil }
            family = "v6"
            address = parsed.description
        default:
            return nil
        }
        switch set {
        case .essential:
            return ResolvedElement(set: "essential_\(family)", key: address, address: address, owner: nil)
        case .organization:
            return ResolvedElement(set: "org_dns_\(family)", key: address, address: address, owner: nil)
        case .own:
            guard source.setFamily == family else { return nil }
            return ResolvedElement(set: "allow_dns_\(family)", key: "\(source) . \(address)", address: address, owner: source)
        }
    }

    /// The transaction that puts `elements` in their sets for `timeout` seconds each. Each element
    /// is added, deleted and added again: the first add makes sure it exists, so the delete cannot
    /// fail, and the last add sets the new timeout whether or not this kernel refreshes a timeout
    /// on a plain add.
    static func allowResolved(_ configuration: EgressConfiguration, _ elements: [(element: ResolvedElement, timeout: UInt32)]) -> String {
        let table = "inet \(configuration.tableName)"
        var text = ""
        for (element, timeout) in elements {
            let set = "\(table) \(element.set)"
            text += "add element \(set) { \(element.key) timeout \(timeout)s }\n"
            text += "delete element \(set) { \(element.key) }\n"
            text += "add element \(set) { \(element.key) timeout \(timeout)s }\n"
        }
        return text
    }

    /// Removes `addresses` from `source`'s own resolved set: the sandbox's domain list changed or
    /// its address went away, and what it resolved before must not outlive that (nor pass to the
    /// next sandbox given the address). Added first, so the delete cannot fail.
    static func revokeResolved(_ configuration: EgressConfiguration, source: SandboxEgress.Source, addresses: [String]) -> String {
        removeWhetherPresent(addresses.map { "\(source) . \($0)" }, from: "inet \(configuration.tableName) allow_dns_\(source.setFamily)")
    }

    /// Removes `elements` from `set` whether or not each is there: added first, so the delete
    /// cannot fail the transaction on a missing one.
    static func removeWhetherPresent(_ elements: [String], from set: String) -> String {
        guard !elements.isEmpty else { return "" }
        let list = elements.joined(separator: ", ")
        return "add element \(set) { \(list) }\ndelete element \(set) { \(list) }\n"
    }

    /// The per-sandbox drop counters: dynamic sets keyed by source address whose elements count
    /// packets (`counter` on the set), one per reason and family.
    static let dropSets: [(reason: String, family: String)] = [
        ("blocked", "v4"), ("blocked", "v6"), ("never", "v4"), ("never", "v6"), ("refused", "v4"), ("refused", "v6"),
    ]

    /// Addresses the per-sandbox drop counters keep, per set.
    static let dropSetSize = 262_144

    /// Never reachable from any sandbox, whatever its policy or the operator's list.
    static let neverIPv4 = ["0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4"]
    static let neverIPv6 = ["::/128", "fe80::/10", "ff00::/8", "fd00:ec2::254/128"]

    /// One transaction that replaces the whole table (or creates it): the rules in force before
    /// it stay in force until it commits, so a restart of the agent opens no window.
    static func replaceTable(_ configuration: EgressConfiguration, state: EgressState) -> String {
        let table = "inet \(configuration.tableName)"
        var text = "table \(table) {}\ndelete table \(table)\n"
        text += definition(configuration)
        text += elements(of: state, table: table, verb: "add")
        return text
    }

    /// The transaction that turns `old` into `new`, or `nil` when they are the same.
    static func update(_ configuration: EgressConfiguration, from old: EgressState, to new: EgressState) -> String? {
        let table = "inet \(configuration.tableName)"
        let removed = elements(of: old, missingFrom: new)
        let added = elements(of: new, missingFrom: old)
        var text = removed.text(table: table, verb: "delete") + added.text(table: table, verb: "add")
        text += forgetDrops(of: old.sortedEntries.map(\.key).filter { new.entries[$0] == nil }, table: table)
        return text.isEmpty ? nil : text
    }

    /// Removes the drop counters of addresses no sandbox holds any more, so the next sandbox given
    /// the address starts from zero. Added first, so the delete cannot fail on a missing element.
    static func forgetDrops(of sources: [SandboxEgress.Source], table: String) -> String {
        let keys = Dictionary(grouping: sources, by: \.setFamily).mapValues { $0.map(\.description) }
        return dropSets.map { reason, family in
            removeWhetherPresent(keys[family] ?? [], from: "\(table) drops_\(reason)_\(family)")
        }.joined()
    }

    /// The elements `state` holds and `other` does not: whole entries, a changed class, networks.
    private static func elements(of state: EgressState, missingFrom other: EgressState) -> EgressState.Builder {
        var builder = EgressState.Builder()
        for (source, entry) in state.sortedEntries {
            guard let counterpart = other.entries[source] else {
                builder.set(source, entry)
                continue
            }
            if counterpart.egressClass != entry.egressClass { builder.setClass(source, entry.egressClass) }
            for network in entry.networks where !counterpart.networks.contains(network) {
                builder.addNetwork(source, network)
            }
        }
        return builder
    }

    private static func elements(of state: EgressState, table: String, verb: String) -> String {
        var builder = EgressState.Builder()
        for (source, entry) in state.sortedEntries { builder.set(source, entry) }
        return builder.text(table: table, verb: verb)
    }

    private static func definition(_ configuration: EgressConfiguration) -> String {
        var neverV4 = neverIPv4
        var neverV6 = neverIPv6
        for network in configuration.deniedNetworks.networks {
            switch network {
            case .v4(let cidr): neverV4.append(cidr.description)
            case .v6(let cidr): neverV6.append(cidr.description)
            }
        }
        let organizationV4 = configuration.organizationNetworks.networks.compactMap { if case .v4(let cidr) = $0 { cidr.description } else { nil } }
        let organizationV6 = configuration.organizationNetworks.networks.compactMap { if case .v6(let cidr) = $0 { cidr.description } else { nil } }
        func elements(_ list: [String]) -> String { list.isEmpty ? "" : "elements = { \(list.joined(separator: ", ")) }" }
        let dropSetDefinitions = dropSets.map { reason, family in
            "        set drops_\(reason)_\(family) { type ip\(family)_addr; flags dynamic; size \(dropSetSize); counter; }\n"
        }.joined()
        let interfaces = configuration.sandboxInterfaces
            .map { "        iifname \"\($0)\" jump sandbox\n" }.joined()
        // With a resolver: all DNS of the sandboxes goes to it (the filter runs before the DNAT,
        // so it accepts port 53 to any address; the DNAT then pins it to the resolver), and DNS
        // over TLS/QUIC (853) around it is dropped. Without one, port 53 is like any other.
        var dnsRules = ""
        var redirect = ""
        if configuration.hasResolver {
            dnsRules = """
                        meta l4proto { tcp, udp } th dport 53 accept
                        meta l4proto { tcp, udp } th dport 853 jump drop_never

                """
            var redirects = ""
            for pattern in configuration.sandboxInterfaces {
                if let ipv4 = configuration.resolverIPv4 {
                    redirects += "        iifname \"\(pattern)\" meta nfproto ipv4 meta l4proto { tcp, udp } th dport 53 dnat ip to \(ipv4):53\n"
                }
                if let ipv6 = configuration.resolverIPv6 {
                    redirects += "        iifname \"\(pattern)\" meta nfproto ipv6 meta l4proto { tcp, udp } th dport 53 dnat ip6 to [\(ipv6)]:53\n"
                }
            }
            redirect = """
                    chain dns_redirect {
                        type nat hook prerouting priority dstnat; policy accept;
                \(redirects)    }

                """
        }
        return """
            table inet \(configuration.tableName) {
                comment "Porthole egress: managed by porthole egress, rebuilt at its start; do not edit"
                map class_v4 { type ipv4_addr : verdict; }
                map class_v6 { type ipv6_addr : verdict; }
                set allow_cidr_v4 { type ipv4_addr . ipv4_addr; flags interval; }
                set allow_cidr_v6 { type ipv6_addr . ipv6_addr; flags interval; }
                set allow_dns_v4 { type ipv4_addr . ipv4_addr; flags timeout; }
                set allow_dns_v6 { type ipv6_addr . ipv6_addr; flags timeout; }
                set essential_v4 { type ipv4_addr; flags timeout; }
                set essential_v6 { type ipv6_addr; flags timeout; }
                set never_v4 { type ipv4_addr; flags interval; auto-merge; elements = { \(neverV4.joined(separator: ", ")) } }
                set never_v6 { type ipv6_addr; flags interval; auto-merge; elements = { \(neverV6.joined(separator: ", ")) } }
                set org_cidr_v4 { type ipv4_addr; flags interval; auto-merge; \(elements(organizationV4)) }
                set org_cidr_v6 { type ipv6_addr; flags interval; auto-merge; \(elements(organizationV6)) }
                set org_dns_v4 { type ipv4_addr; flags timeout; }
                set org_dns_v6 { type ipv6_addr; flags timeout; }
            \(dropSetDefinitions)    counter unknown_source {}
                counter blocked_all {}
                counter never_reachable {}
                counter not_allowed {}
                chain filter_prerouting {
                    type filter hook prerouting priority -150; policy accept;
            \(interfaces)    }
                chain sandbox {
                    ct direction reply accept
                    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } ip6 hoplimit 255 accept
                    fib saddr . iif oif missing counter name unknown_source drop
                    meta nfproto ipv4 ip saddr vmap @class_v4
                    meta nfproto ipv6 ip6 saddr vmap @class_v6
                    counter name unknown_source drop
                }
                chain common {
            \(dnsRules)        ip daddr @never_v4 jump drop_never
                    ip6 daddr @never_v6 jump drop_never
                    fib daddr type local jump drop_never
                }
                chain block_all {
                    counter name blocked_all
                    meta nfproto ipv4 add @drops_blocked_v4 { ip saddr }
                    meta nfproto ipv6 add @drops_blocked_v6 { ip6 saddr }
                    drop
                }
                chain open {
                    jump common
                    accept
                }
                chain allow_list {
                    jump common
                    ip saddr . ip daddr @allow_cidr_v4 accept
                    ip6 saddr . ip6 daddr @allow_cidr_v6 accept
                    ip saddr . ip daddr @allow_dns_v4 accept
                    ip6 saddr . ip6 daddr @allow_dns_v6 accept
                    ip daddr @essential_v4 accept
                    ip6 daddr @essential_v6 accept
                    jump refuse
                }
                chain restricted {
                    jump common
                    ip daddr @essential_v4 accept
                    ip6 daddr @essential_v6 accept
                    ip daddr @org_cidr_v4 accept
                    ip6 daddr @org_cidr_v6 accept
                    ip daddr @org_dns_v4 accept
                    ip6 daddr @org_dns_v6 accept
                    ip saddr . ip daddr @allow_cidr_v4 accept
                    ip6 saddr . ip6 daddr @allow_cidr_v6 accept
                    ip saddr . ip daddr @allow_dns_v4 accept
                    ip6 saddr . ip6 daddr @allow_dns_v6 accept
                    jump refuse
                }
                # The drops: a counter per reason, and one per sandbox (its source address) in a
                # dynamic set. Should a set be full, its rule is skipped and the packet still goes.
                chain drop_never {
                    counter name never_reachable
                    meta nfproto ipv4 add @drops_never_v4 { ip saddr }
                    meta nfproto ipv6 add @drops_never_v6 { ip6 saddr }
                    drop
                }
                chain refuse {
                    counter name not_allowed
                    meta nfproto ipv4 add @drops_refused_v4 { ip saddr }
                    meta nfproto ipv6 add @drops_refused_v6 { ip6 saddr }
                    reject with icmpx admin-prohibited
                }
            \(redirect)}

            """
    }
}

extension EgressState {
    /// In address order, so the text of a change is the same every time (tests, logs).
    var sortedEntries: [(key: SandboxEgress.Source, value: Entry)] {
        entries.sorted { $0.key.description < $1.key.description }
    }

    /// Collects elements by set, so one `add element` (or `delete element`) command carries all of
    /// a set's elements: for 10,000 sandboxes, a handful of commands instead of tens of thousands.
    struct Builder {
        private var classV4: [String] = []
        private var classV6: [String] = []
        private var keysV4: [String] = []
        private var keysV6: [String] = []
        private var networksV4: [String] = []

        mutating func set(_ source: SandboxEgress.Source, _ entry: Entry) {
            setClass(source, entry.egressClass)
            for network in entry.networks { addNetwork(source, network) }
        }

        mutating func setClass(_ source: SandboxEgress.Source, _ egressClass: SandboxEgress.Class) {
            switch source {
            case .ipv4(let address):
                classV4.append("\(address) : jump \(egressClass.rawValue)")
                keysV4.append(address.description)
            case .ipv6(let address):
                classV6.append("\(address) : jump \(egressClass.rawValue)")
                keysV6.append(address.description)
            }
        }

        mutating func addNetwork(_ source: SandboxEgress.Source, _ network: IPv4CIDR) {
            // The allow list holds IPv4 networks: they apply to IPv4 sources.
            guard case .ipv4(let address) = source else { return }
            networksV4.append("\(address) . \(network)")
        }

        /// `delete element` takes keys only; `add element` takes key : value for maps.
        func text(table: String, verb: String) -> String {
            var text = ""
            let classesV4 = verb == "delete" ? keysV4 : classV4
            let classesV6 = verb == "delete" ? keysV6 : classV6
            if !classesV4.isEmpty { text += "\(verb) element \(table) class_v4 { \(classesV4.joined(separator: ", ")) }\n" }
            if !classesV6.isEmpty { text += "\(verb) element \(table) class_v6 { \(classesV6.joined(separator: ", ")) }\n" }
            if !networksV4.isEmpty { text += "\(verb) element \(table) allow_cidr_v4 { \(networksV4.joined(separator: ", ")) }\n" }
            return text
        }
    }
}

extension SandboxEgress.Source {
    /// The suffix of the sets that hold this family's elements: `v4` or `v6`.
    var setFamily: String {
        if case .ipv4 = self { "v4" } else { "v6" }
    }
}
