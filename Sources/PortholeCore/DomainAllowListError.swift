/// Why a domain allow list (or a file of name patterns) was refused. The message names the bad entry or
/// line, so the caller can fix it without guessing:
/// `"*.com" is not a valid domain name: the wildcard is too broad; give at least two labels after "*.", …`.
public struct DomainAllowListError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case empty
        case emptyEntry(position: Int)
        case invalidEntry(String, DomainPatternError)
        case tooManyEntries(maximum: Int, got: Int)
        case invalidLine(Int, String, DomainPatternError)
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    static let empty = DomainAllowListError(.empty)
    static func emptyEntry(position: Int) -> DomainAllowListError { DomainAllowListError(.emptyEntry(position: position)) }
    static func invalidEntry(_ entry: String, _ error: DomainPatternError) -> DomainAllowListError {
        DomainAllowListError(.invalidEntry(shown(entry), error))
    }
    static func tooManyEntries(maximum: Int, got: Int) -> DomainAllowListError {
        DomainAllowListError(.tooManyEntries(maximum: maximum, got: got))
    }
    static func invalidLine(_ line: Int, _ entry: String, _ error: DomainPatternError) -> DomainAllowListError {
        DomainAllowListError(.invalidLine(line, shown(entry), error))
    }

    /// The offending entry as given (trimmed), when one entry is to blame.
    public var entry: String? {
        switch base {
        case .invalidEntry(let entry, _), .invalidLine(_, let entry, _): entry
        default: nil
        }
    }

    /// The line (counted from 1) of a file parsed by ``DomainAllowList/parseLines(_:)``.
    public var line: Int? {
        if case .invalidLine(let line, _, _) = base { return line }
        return nil
    }

    public var message: String {
        switch base {
        case .empty:
            "the domain allow list is empty; give comma-separated names such as pypi.org, *.github.com"
        case .emptyEntry(let position):
            "entry \(position) of the domain allow list is empty; separate names with single commas"
        case .invalidEntry(let entry, let error):
            "\"\(entry)\" is not a valid domain name: \(error.message)"
        case .tooManyEntries(let maximum, let got):
            "at most \(maximum) entries are allowed, got \(got)"
        case .invalidLine(let line, let entry, let error):
            "line \(line): \"\(entry)\" is not a valid domain name: \(error.message)"
        }
    }

    public var description: String { message }

    /// Entries come from API callers; keep an absurdly long one from bloating the response, and show
    /// control characters as their code points so a message cannot rewrite a terminal.
    private static func shown(_ entry: String) -> String {
        SandboxFieldRules.shown(entry)
    }
}
