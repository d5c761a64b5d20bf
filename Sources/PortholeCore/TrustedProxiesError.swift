/// Why a list of address ranges (trusted proxies, allowed targets) was refused. The message names the bad entry, so whoever wrote the
/// setting can fix it without guessing:
/// `trusted proxy "10.0.0.1/8" has host bits set; write the network as 10.0.0.0/8`.
public struct TrustedProxiesError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case emptyEntry(position: Int)
        case invalidIPv4(String, IPv4ParseError)
        case invalidIPv6(String, IPv6ParseError)
        case hostBitsSet(String, network: String)
    }

    private let base: Base
    /// What one entry is called in the message: "trusted proxy", "allowed target".
    private var noun = "trusted proxy"
    private init(_ base: Base) { self.base = base }

    func naming(_ noun: String) -> TrustedProxiesError {
        var named = self
        named.noun = noun
        return named
    }

    static func emptyEntry(position: Int) -> TrustedProxiesError { TrustedProxiesError(.emptyEntry(position: position)) }
    static func invalidIPv4(_ entry: some StringProtocol, _ error: IPv4ParseError) -> TrustedProxiesError {
        TrustedProxiesError(.invalidIPv4(shown(entry), error))
    }
    static func invalidIPv6(_ entry: some StringProtocol, _ error: IPv6ParseError) -> TrustedProxiesError {
        TrustedProxiesError(.invalidIPv6(shown(entry), error))
    }
    static func hostBitsSet(_ entry: some StringProtocol, network: String) -> TrustedProxiesError {
        TrustedProxiesError(.hostBitsSet(shown(entry), network: network))
    }

    /// The offending entry as given (trimmed), when one entry is to blame.
    public var entry: String? {
        switch base {
        case .emptyEntry: nil
        case .invalidIPv4(let entry, _), .invalidIPv6(let entry, _), .hostBitsSet(let entry, _): entry
        }
    }

    public var message: String {
        switch base {
        case .emptyEntry(let position):
            "entry \(position) of the \(noun) list is empty; separate addresses or CIDRs with single commas"
        case .invalidIPv4(let entry, let error):
            "\(noun) \"\(entry)\" is not an IPv4 address or CIDR: \(error.message)"
        case .invalidIPv6(let entry, let error):
            "\(noun) \"\(entry)\" is not an IPv6 address or CIDR: \(error.message)"
        case .hostBitsSet(let entry, let network):
            // Refused rather than normalized: `10.0.0.1/8` may mean the host or the network, and a
            // guess here decides who may set X-Forwarded-For.
            "\(noun) \"\(entry)\" has host bits set; write the network as \(network) or the host as a bare address"
        }
    }

    public var description: String { message }

    /// Entries come from configuration; keep an absurdly long one from bloating a log line.
    private static func shown(_ entry: some StringProtocol) -> String {
        entry.count > 64 ? String(entry.prefix(64)) + "…" : String(entry)
    }
}
