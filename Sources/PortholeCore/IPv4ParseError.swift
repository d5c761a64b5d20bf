/// Why a text is not a strict IPv4 address or CIDR. `message` names the offending part
/// (`octet 300 is out of range`); callers add which entry it came from.
public struct IPv4ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case emptyAddress
        case octetCount
        case emptyOctet
        case unexpectedCharacter(UInt8)
        case octetLeadingZero(String)
        case octetOutOfRange(String)
        case prefixLength(CIDRPrefixLength.Problem)
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    static let emptyAddress = IPv4ParseError(.emptyAddress)
    static let octetCount = IPv4ParseError(.octetCount)
    static let emptyOctet = IPv4ParseError(.emptyOctet)
    static func unexpectedCharacter(_ byte: UInt8) -> IPv4ParseError { IPv4ParseError(.unexpectedCharacter(byte)) }
    static func octetLeadingZero(_ text: String) -> IPv4ParseError { IPv4ParseError(.octetLeadingZero(PrintableByte.bounded(text))) }
    static func octetOutOfRange(_ text: String) -> IPv4ParseError { IPv4ParseError(.octetOutOfRange(PrintableByte.bounded(text))) }
    static func prefixLength(_ problem: CIDRPrefixLength.Problem) -> IPv4ParseError { IPv4ParseError(.prefixLength(problem)) }

    public var message: String {
        switch base {
        case .emptyAddress: "the address is empty"
        case .octetCount: "expected four octets separated by '.'"
        case .emptyOctet: "an octet is empty"
        case .unexpectedCharacter(let byte): "unexpected character \(Self.describe(byte))"
        case .octetLeadingZero(let text): "octet \(text) has a leading zero"
        case .octetOutOfRange(let text): "octet \(text) is out of range"
        case .prefixLength(let problem): problem.message
        }
    }

    public var description: String { message }

    private static func describe(_ byte: UInt8) -> String {
        PrintableByte.describe(byte)
    }
}
