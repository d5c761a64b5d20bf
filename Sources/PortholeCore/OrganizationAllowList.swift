/// What the operator lets restricted sandboxes (organisation tiers 1 and 2) reach besides the
/// essential services: networks, and names resolved through Porthole's resolver. One list for the
/// deployment (`porthole egress --organization-allow-list FILE`); sandboxes cannot change it.
public struct OrganizationAllowList: Sendable, Hashable {
    public let networks: AddressRanges
    public let domains: DomainAllowList

    public static let none = OrganizationAllowList(networks: .none, domains: DomainAllowList(entries: []))

    public init(networks: AddressRanges, domains: DomainAllowList) {
        self.networks = networks
        self.domains = domains
    }

    public var isEmpty: Bool { networks.isEmpty && domains.entries.isEmpty }

    /// One entry per line: a CIDR or an address (IPv4 or IPv6), or a name or `*.name`; `#` starts
    /// a comment. An entry with a digit-and-dot or colon shape is an address, anything else a name;
    /// each error names its line.
    public static func parseLines(_ text: String) throws(OrganizationAllowListError) -> OrganizationAllowList {
        var networks: [AddressRanges.Network] = []
        var patterns: [DomainPattern] = []
        for (offset, line) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let content = line.split(separator: UInt8(ascii: "#"), maxSplits: 1, omittingEmptySubsequences: false).first ?? line
            let entry = CommaSeparatedList.trimmed(Substring(content))
            guard !entry.isEmpty else { continue }
            if Self.looksLikeAddress(entry) {
                do {
                    networks += try AddressRanges.parse(String(entry), noun: "organisation allow list entry").networks
                } catch {
                    throw OrganizationAllowListError(description: "line \(offset + 1): \(error)")
                }
            } else {
                do {
                    patterns.append(try DomainPattern.parse(entry))
                } catch {
                    throw OrganizationAllowListError(description: "line \(offset + 1): \(DomainAllowListError.invalidEntry(String(entry), error))")
                }
            }
        }
        return OrganizationAllowList(networks: AddressRanges(networks: networks), domains: DomainAllowList(entries: patterns))
    }

    /// Only digits, dots and a prefix (`10.0.0.0/8`), or any colon (`2001:db8::/32`): names have
    /// neither a colon nor an all-numeric last label.
    private static func looksLikeAddress(_ entry: Substring) -> Bool {
        entry.utf8.contains(UInt8(ascii: ":"))
            || entry.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "/") }
    }
}

/// Why an organisation allow list file was refused; names the line.
public struct OrganizationAllowListError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
}
