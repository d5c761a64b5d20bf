/// The egress allow list of a sandbox: at most a handful of IPv4 networks, stored in
/// `SandboxPolicy.networkAllowList` in the normalized comma-separated form ``description`` gives.
public struct NetworkAllowList: Sendable, Hashable, CustomStringConvertible {
    public typealias Normalization = ListNormalization

    /// The limit matches what the firewall renders per sandbox; more entries cost rule-set size on every host.
    public static let defaultMaxEntries = 5

    /// Normalized, duplicates removed, in the order first given.
    public let entries: [IPv4CIDR]
    public let normalizations: [Normalization]

    public init(entries: [IPv4CIDR]) {
        var seen = Set<IPv4CIDR>()
        self.entries = entries.map(\.normalized).filter { seen.insert($0).inserted }
        self.normalizations = []
    }

    private init(entries: [IPv4CIDR], normalizations: [Normalization]) {
        self.entries = entries
        self.normalizations = normalizations
    }

    /// Parses `10.0.0.0/8, 172.16.0.0/12`: comma-separated, whitespace around entries tolerated,
    /// empty entries rejected, duplicates (after normalization) collapsed.
    public static func parse(_ text: String, maxEntries: Int = defaultMaxEntries) throws(NetworkAllowListError) -> NetworkAllowList {
        guard !CommaSeparatedList.trimmed(text[...]).isEmpty else { throw .empty }

        var entries: [IPv4CIDR] = []
        var seen = Set<IPv4CIDR>()
        var normalizations: [Normalization] = []
        for (offset, entry) in CommaSeparatedList.entries(text).enumerated() {
            guard !entry.isEmpty else { throw .emptyEntry(position: offset + 1) }
            let cidr: IPv4CIDR
            do {
                cidr = try IPv4CIDR.parse(entry)
            } catch {
                throw .invalidEntry(String(entry), error)
            }
            let normalized = cidr.normalized
            if normalized != cidr {
                let note = Normalization(original: String(entry), normalized: normalized.description)
                if !normalizations.contains(note) { normalizations.append(note) }
            }
            if seen.insert(normalized).inserted {
                entries.append(normalized)
            }
        }
        // Counted after collapsing duplicates: repeating an entry costs the firewall nothing.
        guard entries.count <= maxEntries else { throw .tooManyEntries(maximum: maxEntries, got: entries.count) }
        return NetworkAllowList(entries: entries, normalizations: normalizations)
    }

    /// True when some entry contains the address.
    public func contains(_ address: UInt32) -> Bool {
        entries.contains { $0.contains(address) }
    }

    /// The normalized comma-separated form: `192.168.0.0/16,10.0.0.0/24`.
    public var description: String {
        entries.map(\.description).joined(separator: ",")
    }
}
