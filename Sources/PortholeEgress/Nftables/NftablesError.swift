/// A failure to talk to the kernel's nftables, with what nft said.
public struct NftablesError: Error, Sendable, CustomStringConvertible {
    private enum Base: Sendable {
        case unavailable(String)
        case rejected(String, commands: String)
    }

    private let base: Base

    static func unavailable(_ reason: String) -> NftablesError { NftablesError(base: .unavailable(reason)) }

    static func rejected(_ message: String, commands: String) -> NftablesError {
        NftablesError(base: .rejected(message, commands: commands))
    }

    /// nft's own message (it names the line and column that failed).
    public var description: String {
        switch base {
        case .unavailable(let reason):
            "nftables is not available: \(reason)"
        case .rejected(let message, _):
            // EPERM is by far the most common cause: say what to do about it.
            message.contains("Operation not permitted")
                ? "the kernel refused the nftables change: porthole egress needs CAP_NET_ADMIN (run it as root or with that capability): \(message)"
                : "the kernel refused the nftables change: \(message)"
        }
    }

    /// The commands that were refused, for a debug log.
    public var commands: String? {
        if case .rejected(_, let commands) = base { return commands }
        return nil
    }
}
