/// Why a text is not a strict IPv6 address or CIDR. `message` names the offending part
/// (`group 12345 has more than four hex digits`); callers add which entry it came from.
public struct IPv6ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case emptyAddress
        case unexpectedCharacter(UInt8)
        case zoneIndex
        case emptyGroup
        case groupTooLong(String)
        case groupCount
        case repeatedCompression
        case compressionWithEightGroups
        case misplacedIPv4
        case invalidIPv4(IPv4ParseError)
        case prefixLength(CIDRPrefixLength.Problem)
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    static let emptyAddress = IPv6ParseError(.emptyAddress)
    static let zoneIndex = IPv6ParseError(.zoneIndex)
    static let emptyGroup = IPv6ParseError(.emptyGroup)
    static let groupCount = IPv6ParseError(.groupCount)
    static let repeatedCompression = IPv6ParseError(.repeatedCompression)
    static let compressionWithEightGroups = IPv6ParseError(.compressionWithEightGroups)
    static let misplacedIPv4 = IPv6ParseError(.misplacedIPv4)
    static func unexpectedCharacter(_ byte: UInt8) -> IPv6ParseError { IPv6ParseError(.unexpectedCharacter(byte)) }
    static func groupTooLong(_ text: String) -> IPv6ParseError { IPv6ParseError(.groupTooLong(PrintableByte.bounded(text))) }
    static func invalidIPv4(_ error: IPv4ParseError) -> IPv6ParseError { IPv6ParseError(.invalidIPv4(error)) }
    static func prefixLength(_ problem: CIDRPrefixLength.Problem) -> IPv6ParseError { IPv6ParseError(.prefixLength(problem)) }

    public var message: String {
        switch base {
        case .emptyAddress: "the address is empty"
        case .unexpectedCharacter(let byte): "unexpected character \(Self.describe(byte))"
        case .zoneIndex: "a zone index ('%…') is not allowed"
        case .emptyGroup: "a group between ':' is empty (only one '::' may stand for zeros)"
        case .groupTooLong(let text): "group \(text) has more than four hex digits"
        case .groupCount: "expected eight groups of hex digits separated by ':', or fewer with one '::'"
        case .repeatedCompression: "'::' may appear only once"
        case .compressionWithEightGroups: "'::' must stand for at least one group, but eight are given"
        case .misplacedIPv4: "an embedded IPv4 address may only be the last 32 bits"
        case .invalidIPv4(let error): "embedded IPv4 address: \(error.message)"
        case .prefixLength(let problem): problem.message
        }
    }

    public var description: String { message }

    private static func describe(_ byte: UInt8) -> String {
        PrintableByte.describe(byte)
    }
}
