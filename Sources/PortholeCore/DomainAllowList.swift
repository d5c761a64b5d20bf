/// The domain allow list of a sandbox, stored in the API field `domainAllowList` in the normalized
/// comma-separated form ``description`` gives: `pypi.org,*.github.com`.
///
/// The egress resolver answers a sandbox's DNS query only when ``allows(_:)`` is true for the name (or
/// the name is on the essential-services list, ``defaultEssentialServices``); every other name is
/// answered REFUSED and never forwarded, so a name cannot carry data out to someone's name server.
///
/// `*.github.com` matches names *below* `github.com` (`api.github.com`, `a.b.github.com`) but not
/// `github.com` itself: list both, `github.com, *.github.com`, to reach both.
public struct DomainAllowList: Sendable, Hashable, CustomStringConvertible {
    public typealias Normalization = ListNormalization

    /// The firewall holds one address set per allowed name pattern; the limit keeps a sandbox's share small.
    public static let defaultMaxEntries = 10

    /// Duplicates removed, in the order first given.
    public let entries: [DomainPattern]
    /// Entries given in upper case or with the trailing dot, as ``parse(_:maxEntries:)`` found them.
    public let normalizations: [Normalization]
    /// For ``allows(_:)``: one lookup per label of the asked name instead of a scan of every entry.
    private let exactNames: Set<String>
    private let wildcardBases: Set<String>

    public init(entries: [DomainPattern]) {
        self.init(entries: entries, normalizations: [])
    }

    private init(entries: [DomainPattern], normalizations: [Normalization]) {
        var seen = Set<DomainPattern>()
        self.entries = entries.filter { seen.insert($0).inserted }
        self.normalizations = normalizations
        self.exactNames = Set(self.entries.filter { !$0.isWildcard }.map(\.name))
        self.wildcardBases = Set(self.entries.filter(\.isWildcard).map(\.name))
    }

    /// Parses `pypi.org, *.github.com`: comma-separated, whitespace around entries tolerated, empty entries
    /// refused, each entry as ``DomainPattern/parse(_:)``, duplicates (after lowercasing) collapsed.
    public static func parse(_ text: String, maxEntries: Int = defaultMaxEntries) throws(DomainAllowListError) -> DomainAllowList {
        guard !CommaSeparatedList.trimmed(text[...]).isEmpty else { throw .empty }

        var patterns: [DomainPattern] = []
        var normalizations: [Normalization] = []
        for (offset, entry) in CommaSeparatedList.entries(text).enumerated() {
            guard !entry.isEmpty else { throw .emptyEntry(position: offset + 1) }
            let pattern: DomainPattern
            do {
                pattern = try DomainPattern.parse(entry)
            } catch {
                throw .invalidEntry(String(entry), error)
            }
            if pattern.description != entry {
                let note = Normalization(original: String(entry), normalized: pattern.description)
                if !normalizations.contains(note) { normalizations.append(note) }
            }
            patterns.append(pattern)
        }
        let list = DomainAllowList(entries: patterns, normalizations: normalizations)
        // Counted after collapsing duplicates: repeating an entry costs the firewall nothing.
        guard list.entries.count <= maxEntries else {
            throw .tooManyEntries(maximum: maxEntries, got: list.entries.count)
        }
        return list
    }

    /// Parses a file of name patterns, one `name` or `*.name` per line, as the essential-services list
    /// is kept. `#` starts a comment (a whole line or the rest of one); blank lines are ignored; errors
    /// name the line (counted from 1). No entry limit: the operator writes this file, not a sandbox.
    public static func parseLines(_ text: String) throws(DomainAllowListError) -> DomainAllowList {
        var patterns: [DomainPattern] = []
        // Split on bytes, as `CommaSeparatedList` does: "\r\n" is one Character and would not split on "\n".
        for (offset, line) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let content = line.split(separator: UInt8(ascii: "#"), maxSplits: 1, omittingEmptySubsequences: false).first ?? line
            let entry = CommaSeparatedList.trimmed(Substring(content))
            guard !entry.isEmpty else { continue }
            do {
                patterns.append(try DomainPattern.parse(entry))
            } catch {
                throw .invalidLine(offset + 1, String(entry), error)
            }
        }
        return DomainAllowList(entries: patterns)
    }

    /// True when `name` is an entry, or below a wildcard entry. `name` is written as asked in DNS: any
    /// case, with or without the trailing dot.
    ///
    /// Only plain names can match: a name with an empty label, a byte other than a letter, digit, `-`
    /// or `_`, or more than 253 characters is never allowed. That also refuses the presentation form of
    /// a wire label that holds a dot (`evil\.github.com`): read as text it would end in `.github.com`,
    /// but on the wire it is a label `evil.github` under `com`.
    public func allows(_ name: some StringProtocol) -> Bool {
        guard let name = Self.normalisedQueryName(name) else { return false }
        if exactNames.contains(name) { return true }
        guard !wildcardBases.isEmpty else { return false }
        let utf8 = name.utf8
        var index = utf8.startIndex
        while let dot = utf8[index...].firstIndex(of: UInt8(ascii: ".")) {
            index = utf8.index(after: dot)
            if wildcardBases.contains(String(name[index...])) { return true }
        }
        return false
    }

    /// The normalized comma-separated form: `pypi.org,*.github.com`. ``parse(_:maxEntries:)`` reads it
    /// back to the same list.
    public var description: String {
        entries.map(\.description).joined(separator: ",")
    }

    /// Lowercase without the trailing dot, or nil when the name is not a plain host name.
    private static func normalisedQueryName(_ name: some StringProtocol) -> String? {
        var bytes = Array(name.utf8)
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        guard !bytes.isEmpty, bytes.count <= DomainPattern.maximumLength else { return nil }
        var labelLength = 0
        for index in bytes.indices {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                guard labelLength > 0 else { return nil }
                labelLength = 0
                continue
            }
            guard DomainPattern.isLDH(byte) || byte == UInt8(ascii: "_") else { return nil }
            labelLength += 1
            guard labelLength <= DomainPattern.maximumLabelLength else { return nil }
            if DomainPattern.isUppercase(byte) { bytes[index] = byte | 0x20 }
        }
        guard labelLength > 0 else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
