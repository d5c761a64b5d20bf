/// Which addresses the proxy may connect to on a sandbox's behalf.
///
/// A sandbox record's `target` decides where previews go, and the client picks the port: a target
/// aimed at the proxy's own host exposed its admin listener and every loopback service, and one at
/// itself made it proxy to itself until its descriptors ran out. So targets are checked against
/// the operator's ranges (`--allow-target`), and some addresses are never a sandbox's whatever the
/// ranges say: unspecified, link-local (the cloud metadata service lives there), multicast,
/// broadcast and reserved ones.
public struct UpstreamTargetPolicy: Sendable, Hashable {
    /// The ranges targets may be in.
    public let allowed: AddressRanges

    /// Private ranges, the shared carrier-grade range, ULA, and loopback: where sandboxes live on a
    /// host, plus loopback for development (`sandbox create --target 127.0.0.1`). Production
    /// deployments name their sandbox network instead (`--allow-target 10.88.0.0/16`).
    public static let defaultAllowed = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7,127.0.0.0/8,::1/128"

    public static let `default` = UpstreamTargetPolicy(allowed: try! AddressRanges.parse(defaultAllowed))

    public init(allowed: AddressRanges) {
        self.allowed = allowed
    }

    /// Never a target, whatever `allowed` says.
    static let neverAllowed = try! AddressRanges.parse(
        "0.0.0.0/8,169.254.0.0/16,224.0.0.0/4,240.0.0.0/4,::/128,fe80::/10,ff00::/8,fd00:ec2::254/128"
    )

    /// `nil` when the proxy may connect to `address` (an IPv4 or IPv6 literal, as NIO reports a
    /// connected peer), else why not, in words for the operator.
    public func refusal(for address: String) -> UpstreamTargetRefusal? {
        guard Self.isAddressLiteral(address) else { return .notAnAddress(address) }
        if Self.neverAllowed.contains(address) { return .neverAllowed(address) }
        if !allowed.contains(address) { return .outsideAllowedRanges(address, allowed: allowed.description) }
        return nil
    }

    private static func isAddressLiteral(_ text: String) -> Bool {
        if text.utf8.contains(UInt8(ascii: ":")) { return (try? IPv6Address.parse(text)) != nil }
        return (try? IPv4Address.parse(text)) != nil
    }
}

/// Why the proxy will not connect to a sandbox's target.
public enum UpstreamTargetRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    case notAnAddress(String)
    case neverAllowed(String)
    case outsideAllowedRanges(String, allowed: String)
    /// The address and port of one of Porthole's own listeners.
    case ownListener(String, port: Int)

    public var description: String {
        switch self {
        case .notAnAddress(let text):
            "\"\(text)\" is not an IP address"
        case .neverAllowed(let address):
            "\(address) is unspecified, link-local (cloud metadata), multicast, broadcast or reserved: never a sandbox"
        case .outsideAllowedRanges(let address, let allowed):
            "\(address) is outside the ranges sandbox targets may be in (\(allowed.isEmpty ? "none" : allowed)); an operator can add ranges with --allow-target"
        case .ownListener(let address, let port):
            "\(address) port \(port) is one of this Porthole's own listeners"
        }
    }
}
