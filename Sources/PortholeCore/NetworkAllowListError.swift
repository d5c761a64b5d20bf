/// Why a network allow list was refused. The message names the bad entry, so an API caller can fix it
/// without guessing: `"300.1.1.1/8" is not a valid IPv4 CIDR: octet 300 is out of range`.
public struct NetworkAllowListError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case empty
        case emptyEntry(position: Int)
        case invalidEntry(String, IPv4ParseError)
        case tooManyEntries(maximum: Int, got: Int)
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    static let empty = NetworkAllowListError(.empty)
    static func emptyEntry(position: Int) -> NetworkAllowListError { NetworkAllowListError(.emptyEntry(position: position)) }
    static func invalidEntry(_ entry: String, _ error: IPv4ParseError) -> NetworkAllowListError {
        // Entries come from API callers; keep an absurdly long one from bloating the response.
        let shown = entry.count > 64 ? String(entry.prefix(64)) + "…" : entry
        return NetworkAllowListError(.invalidEntry(shown, error))
    }
    static func tooManyEntries(maximum: Int, got: Int) -> NetworkAllowListError {
        NetworkAllowListError(.tooManyEntries(maximum: maximum, got: got))
    }

    /// The offending entry as given (trimmed), when one entry is to blame.
    public var entry: String? {
        if case .invalidEntry(let entry, _) = base { return entry }
        return nil
    }

    public var message: String {
        switch base {
        case .empty:
            "the network allow list is empty; give comma-separated IPv4 CIDRs such as 10.0.0.0/8"
        case .emptyEntry(let position):
            "entry \(position) of the network allow list is empty; separate IPv4 CIDRs with single commas"
        case .invalidEntry(let entry, let error):
            "\"\(entry)\" is not a valid IPv4 CIDR: \(error.message)"
        case .tooManyEntries(let maximum, let got):
            "at most \(maximum) entries are allowed, got \(got)"
        }
    }

    public var description: String { message }
}
