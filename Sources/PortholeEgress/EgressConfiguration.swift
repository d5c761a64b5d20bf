public import PortholeCore

/// How `porthole egress` sees the host it runs on.
public struct EgressConfiguration: Sendable, Hashable {
    /// nftables interface-name patterns of the host ends of sandbox links (`psb*`, `veth-sb*`,
    /// `tap0`): packets that enter on one of them are sandbox traffic and are filtered.
    public var sandboxInterfaces: [String]
    /// Networks no sandbox may reach whatever its policy says (`--egress-deny`), besides the
    /// built-in never-reachable ranges and the host's own addresses.
    public var deniedNetworks: AddressRanges
    /// The nftables table Porthole owns (family `inet`); every other table is left alone.
    public var tableName: String
    /// Addresses of this host where Porthole's resolver listens (at most one IPv4 and one IPv6):
    /// all sandbox DNS (UDP and TCP port 53) is redirected there. Empty: no resolver, and port 53
    /// is treated like any other port (domain lists and essential services then reach nothing).
    public var resolverIPv4: IPv4Address?
    public var resolverIPv6: IPv6Address?

    public init(
        sandboxInterfaces: [String], deniedNetworks: AddressRanges = .none, resolverAddresses: [String] = [],
        tableName: String = "porthole"
    ) throws(EgressConfigurationError) {
        guard !sandboxInterfaces.isEmpty else { throw .noSandboxInterface }
        for pattern in sandboxInterfaces where !Self.isInterfacePattern(pattern) {
            throw .invalidInterfacePattern(pattern)
        }
        guard Self.isIdentifier(tableName) else { throw .invalidTableName(tableName) }
        self.sandboxInterfaces = sandboxInterfaces
        self.deniedNetworks = deniedNetworks
        self.tableName = tableName
        for address in resolverAddresses {
            if let ipv4 = try? IPv4Address.parse(address), resolverIPv4 == nil {
                resolverIPv4 = ipv4
            } else if let ipv6 = try? IPv6Address.parse(address), ipv6.ipv4Mapped == nil, resolverIPv6 == nil {
                resolverIPv6 = ipv6
            } else {
                throw .invalidResolverAddress(address)
            }
        }
    }

    /// A resolved address stays in a sandbox's set for the record's TTL, at least this long (a TTL
    /// of 0 would expire before the connection), plus `dnsGrace` (the client connects a moment
    /// after the answer), at most a day.
    public var dnsMinimumTTL: UInt32 = 30
    public var dnsGrace: UInt32 = 10

    /// Networks restricted sandboxes (tiers 1 and 2) may reach besides the essential services: the
    /// network part of the organisation allow list (its names are the resolver's business).
    public var organizationNetworks: AddressRanges = .none

    /// Whether sandbox DNS goes to Porthole's resolver.
    public var hasResolver: Bool { resolverIPv4 != nil || resolverIPv6 != nil }

    /// An interface name (1–15 bytes of letters, digits, `-`, `_`, `.`), optionally ending in
    /// `*` (nft's wildcard); nothing that could break out of the quoted string in a rule.
    static func isInterfacePattern(_ pattern: String) -> Bool {
        var bytes = Array(pattern.utf8)
        if bytes.last == UInt8(ascii: "*") { bytes.removeLast() }
        guard !bytes.isEmpty, bytes.count <= 15 else { return false }
        return bytes.allSatisfy { isLetterOrDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    static func isIdentifier(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, !bytes.isEmpty, bytes.count <= 64, (first | 0x20) >= 0x61, (first | 0x20) <= 0x7A else { return false }
        return bytes.allSatisfy { isLetterOrDigit($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
    }
}

/// Why an egress configuration was refused.
public struct EgressConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    static let noSandboxInterface = EgressConfigurationError(
        description: "no --sandbox-interface given: name the host interfaces sandbox traffic enters on (an nft pattern such as psb*)"
    )

    static func invalidInterfacePattern(_ pattern: String) -> EgressConfigurationError {
        EgressConfigurationError(
            description: "sandbox interface \"\(pattern)\" is not an interface name (1–15 letters, digits, '-', '_', '.') with an optional trailing *"
        )
    }

    static func invalidResolverAddress(_ address: String) -> EgressConfigurationError {
        EgressConfigurationError(
            description: "resolver address \"\(address)\" must be an IPv4 or IPv6 address of this host, at most one of each"
        )
    }

    static func invalidTableName(_ name: String) -> EgressConfigurationError {
        EgressConfigurationError(description: "table name \"\(name)\" must be a letter followed by letters, digits or '_'")
    }
}
