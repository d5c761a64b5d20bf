/// Why a text is not a domain name or wildcard. `message` names the offending part
/// (`label "-pypi" starts or ends with '-'`); ``DomainAllowListError`` adds which entry it came from.
public struct DomainPatternError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case empty
        case emptyLabel
        case unexpectedCharacter(UInt8)
        case labelTooLong(String, length: Int)
        case nameTooLong(Int)
        case hyphenAtLabelEdge(String)
        case misplacedWildcard
        case wildcardTooBroad
        case ipAddress
        case numericTopLevelLabel(String)
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    static let empty = DomainPatternError(.empty)
    static let emptyLabel = DomainPatternError(.emptyLabel)
    static let misplacedWildcard = DomainPatternError(.misplacedWildcard)
    static let wildcardTooBroad = DomainPatternError(.wildcardTooBroad)
    static let ipAddress = DomainPatternError(.ipAddress)
    static func unexpectedCharacter(_ byte: UInt8) -> DomainPatternError { DomainPatternError(.unexpectedCharacter(byte)) }
    static func labelTooLong(_ label: String) -> DomainPatternError {
        DomainPatternError(.labelTooLong(PrintableByte.bounded(label, limit: 24), length: label.utf8.count))
    }
    static func nameTooLong(_ length: Int) -> DomainPatternError { DomainPatternError(.nameTooLong(length)) }
    static func hyphenAtLabelEdge(_ label: String) -> DomainPatternError { DomainPatternError(.hyphenAtLabelEdge(PrintableByte.bounded(label, limit: 24))) }
    static func numericTopLevelLabel(_ label: String) -> DomainPatternError {
        DomainPatternError(.numericTopLevelLabel(PrintableByte.bounded(label, limit: 24)))
    }

    public var message: String {
        switch base {
        case .empty:
            "the name is empty"
        case .emptyLabel:
            "a label is empty (a leading dot or two dots in a row)"
        case .unexpectedCharacter(let byte):
            if byte >= 0x80 {
                "unexpected character \(Self.describe(byte)); write internationalised names in their xn-- form"
            } else {
                "unexpected character \(Self.describe(byte)); names use letters, digits, '-' and '.'"
            }
        case .labelTooLong(let label, let length):
            "label \"\(label)\" is \(length) characters long; a label is at most \(DomainPattern.maximumLabelLength)"
        case .nameTooLong(let length):
            "the name is \(length) characters long; a name is at most \(DomainPattern.maximumLength)"
        case .hyphenAtLabelEdge(let label):
            "label \"\(label)\" starts or ends with '-'"
        case .misplacedWildcard:
            "'*' may only stand alone as the first label, as in *.example.com"
        case .wildcardTooBroad:
            "the wildcard is too broad; give at least two labels after \"*.\", as in *.example.com"
        case .ipAddress:
            "an IP address is not a domain name; put addresses in networkAllowList as CIDRs, such as 192.0.2.1/32"
        case .numericTopLevelLabel(let label):
            "the last label \"\(label)\" is all digits, which no top-level domain is; "
                + "if this is an IP address, put it in networkAllowList as a CIDR"
        }
    }

    public var description: String { message }

    private static func describe(_ byte: UInt8) -> String {
        PrintableByte.describe(byte)
    }
}
