/// A set of IPv4 and IPv6 networks, for the settings that name address ranges: the trusted proxies
/// (peers whose forwarding headers are believed: the load balancers in front of Porthole) and the
/// ranges sandbox targets may be in (`--allow-target`).
///
/// Parsed from a comma-separated list of IPv4 and IPv6 addresses and CIDRs:
/// `10.0.0.0/8, 192.168.1.7, fd00::/8`. A bare address is a single host (`/32`, `/128`).
///
/// IPv4 clients of a dual-stack socket appear as IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`); they
/// are matched as the IPv4 address they are, against the IPv4 entries only. An entry written in the
/// mapped form with a prefix of 96 or more (`::ffff:10.0.0.0/104`) is stored as the IPv4 network it
/// names (`10.0.0.0/8`). IPv6 entries never match IPv4 clients otherwise: `::/0` trusts every IPv6
/// peer, not every peer.
public struct AddressRanges: Sendable, Hashable, CustomStringConvertible {
    /// One entry of the list.
    public enum Network: Sendable, Hashable, CustomStringConvertible {
        case v4(IPv4CIDR)
        case v6(IPv6CIDR)

        public var description: String {
            switch self {
            case .v4(let cidr): cidr.description
            case .v6(let cidr): cidr.description
            }
        }
    }

    /// No address at all (as trusted proxies: every forwarding header from a client is replaced).
    public static let none = AddressRanges(networks: [])

    /// Normalized, duplicates removed, in the order first given.
    public let networks: [Network]
    // Kept apart so that a lookup scans only entries of the address's own family.
    private let ipv4: [IPv4CIDR]
    private let ipv6: [IPv6CIDR]

    /// Host bits are cleared and duplicates dropped; use ``parse(_:)`` for text, which refuses host bits.
    public init(networks: [Network]) {
        var seen = Set<Network>()
        var kept: [Network] = []
        for network in networks {
            let normalized: Network =
                switch network {
                case .v4(let cidr): .v4(cidr.normalized)
                case .v6(let cidr): Self.unmapped(cidr.normalized)
                }
            if seen.insert(normalized).inserted { kept.append(normalized) }
        }
        self.networks = kept
        self.ipv4 = kept.compactMap { if case .v4(let cidr) = $0 { cidr } else { nil } }
        self.ipv6 = kept.compactMap { if case .v6(let cidr) = $0 { cidr } else { nil } }
    }

    /// Parses `10.0.0.0/8, 192.168.1.7, fd00::/8`: comma-separated, whitespace around entries tolerated.
    /// Empty (or all-whitespace) text is the empty list, so a flag can clear what a config file set.
    /// Strict: empty entries, anything ``IPv4CIDR/parse(_:)`` or ``IPv6CIDR/parse(_:)`` refuses, and
    /// CIDRs with host bits set are errors naming the entry. Duplicates are collapsed.
    /// `noun` names an entry in error messages ("trusted proxy", "allowed target").
    public static func parse(_ text: String, noun: String = "trusted proxy") throws(TrustedProxiesError) -> AddressRanges {
        let entries = CommaSeparatedList.entries(text)
        if entries.count == 1, entries[0].isEmpty { return .none }
        var networks: [Network] = []
        for (offset, entry) in entries.enumerated() {
            guard !entry.isEmpty else { throw TrustedProxiesError.emptyEntry(position: offset + 1).naming(noun) }
            do {
                networks.append(try parseEntry(entry))
            } catch {
                throw error.naming(noun)
            }
        }
        return AddressRanges(networks: networks)
    }

    private static func parseEntry(_ entry: Substring) throws(TrustedProxiesError) -> Network {
        let utf8 = entry.utf8
        let hasPrefix = utf8.contains(UInt8(ascii: "/"))
        // IPv6 when a colon comes before any dot: `10.0.0.1:80` is then an IPv4 address with a stray
        // port (and reported as such), while `::ffff:10.0.0.1` is still IPv6.
        let firstColon = utf8.firstIndex(of: UInt8(ascii: ":"))
        let firstDot = utf8.firstIndex(of: UInt8(ascii: "."))
        if let firstColon, firstDot.map({ firstColon < $0 }) ?? true {
            let cidr: IPv6CIDR
            do {
                cidr = hasPrefix ? try IPv6CIDR.parse(entry) : IPv6CIDR(address: try IPv6Address.parse(entry), prefixLength: 128)
            } catch {
                throw .invalidIPv6(entry, error)
            }
            guard cidr.isNormalized else { throw .hostBitsSet(entry, network: cidr.normalized.description) }
            return unmapped(cidr)
        }
        let cidr: IPv4CIDR
        do {
            cidr = hasPrefix ? try IPv4CIDR.parse(entry) : IPv4CIDR(address: try IPv4Address.parse(entry), prefixLength: 32)
        } catch {
            throw .invalidIPv4(entry, error)
        }
        guard cidr.isNormalized else { throw .hostBitsSet(entry, network: cidr.normalized.description) }
        return .v4(cidr)
    }

    /// `::ffff:10.0.0.0/104` → `10.0.0.0/8`: the IPv4 network an IPv4-mapped CIDR stands for.
    private static func unmapped(_ cidr: IPv6CIDR) -> Network {
        guard cidr.prefixLength >= 96, let ipv4 = cidr.address.ipv4Mapped else { return .v6(cidr) }
        return .v4(IPv4CIDR(address: ipv4, prefixLength: cidr.prefixLength - 96))
    }

    /// True when nobody is trusted.
    public var isEmpty: Bool { networks.isEmpty }

    public func contains(_ address: IPv4Address) -> Bool {
        ipv4.contains { $0.contains(address) }
    }

    /// IPv4-mapped addresses are looked up as IPv4.
    public func contains(_ address: IPv6Address) -> Bool {
        if let ipv4 = address.ipv4Mapped { return contains(ipv4) }
        return ipv6.contains { $0.contains(address) }
    }

    /// An address as raw bytes in network order: 4 for IPv4, 16 for IPv6 (as in `sin_addr`, `sin6_addr`
    /// or a PROXY v2 header). Any other count is no address and is not trusted.
    public func contains(addressBytes bytes: some Collection<UInt8>) -> Bool {
        switch bytes.count {
        case 4:
            return contains(IPv4Address(bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }))
        case 16:
            guard let address = IPv6Address(bytes: bytes) else { return false }
            return contains(address)
        default:
            return false
        }
    }

    /// An address as text: `10.0.0.1`, `2001:db8::1`, `::ffff:10.0.0.1` (what NIO's
    /// `SocketAddress.ipAddress` gives). Text that is not a strict address is not trusted.
    public func contains(_ text: some StringProtocol) -> Bool {
        if text.utf8.contains(UInt8(ascii: ":")) {
            guard let address = try? IPv6Address.parse(text) else { return false }
            return contains(address)
        }
        guard let address = try? IPv4Address.parse(text) else { return false }
        return contains(address)
    }

    /// The normalized comma-separated form, which parses back to the same list: `10.0.0.0/8,fd00::/8`.
    public var description: String {
        networks.map(\.description).joined(separator: ",")
    }
}
