/// One entry of a domain allow list: a DNS name (`pypi.org`) or a wildcard (`*.github.com`).
///
/// A wildcard matches every name *below* its base, one or more labels deep, but not the base itself:
/// `*.github.com` matches `api.github.com` and `a.b.github.com`, not `github.com`. A list that should
/// reach both says so with two entries, `github.com, *.github.com`. (This is the meaning of `*` in TLS
/// certificates and DNS zone files too, so the list reads the way people already read those.)
public struct DomainPattern: Sendable, Hashable, CustomStringConvertible {
    /// The name, or for a wildcard the name after `*.`: lowercase ASCII, no trailing dot.
    public let name: String
    public let isWildcard: Bool

    /// RFC 1035 §2.3.4: 255 bytes on the wire are 253 characters of text without the trailing dot.
    public static let maximumLength = 253
    /// RFC 1035 §2.3.4.
    public static let maximumLabelLength = 63

    private init(name: String, isWildcard: Bool) {
        self.name = name
        self.isWildcard = isWildcard
    }

    /// Parses `example.com`, `Example.COM.` or `*.example.com` (no surrounding whitespace).
    ///
    /// Names are LDH (RFC 1123 §2.1, RFC 3696 §2): labels of letters, digits and `-`, 1–63 bytes, not
    /// starting or ending with `-`, 253 characters in all. Internationalised names are given in their
    /// `xn--` form. Stored lowercase (RFC 4343: DNS compares ASCII case-insensitively) without the
    /// trailing dot, so equal patterns compare equal. IP addresses are refused: they are not names, and
    /// they belong in the network allow list.
    public static func parse(_ text: some StringProtocol) throws(DomainPatternError) -> DomainPattern {
        var bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw .empty }
        if isIPLiteral(text) { throw .ipAddress }
        if bytes.last == UInt8(ascii: "."), bytes.count > 1 { bytes.removeLast() }

        let isWildcard = bytes.starts(with: [UInt8(ascii: "*"), UInt8(ascii: ".")])
        if bytes == [UInt8(ascii: "*")] { throw .wildcardTooBroad }
        // Measured with the `*.`: the shortest name a wildcard matches, `x.base`, is as long.
        guard bytes.count <= maximumLength else { throw .nameTooLong(bytes.count) }
        let base = isWildcard ? Array(bytes.dropFirst(2)) : bytes

        var labelCount = 0
        for label in base.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            labelCount += 1
            guard !label.isEmpty else { throw .emptyLabel }
            for byte in label where !isLDH(byte) {
                if byte == UInt8(ascii: "*") { throw .misplacedWildcard }
                throw .unexpectedCharacter(byte)
            }
            guard label.count <= maximumLabelLength else {
                throw .labelTooLong(String(decoding: label, as: UTF8.self))
            }
            guard label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else {
                throw .hyphenAtLabelEdge(String(decoding: label, as: UTF8.self))
            }
        }
        // RFC 3696 §2: no top-level domain is all digits, so `1.2.3.999` is a mistyped address.
        if let last = base.split(separator: UInt8(ascii: ".")).last, last.allSatisfy(isDigit) {
            throw .numericTopLevelLabel(String(decoding: last, as: UTF8.self))
        }
        // `*.com` would let a sandbox resolve (and so reach, and send data to) any name under a
        // public suffix; two labels at least name someone's domain.
        if isWildcard, labelCount < 2 { throw .wildcardTooBroad }

        let lowercased = base.map { isUppercase($0) ? $0 | 0x20 : $0 }
        return DomainPattern(name: String(decoding: lowercased, as: UTF8.self), isWildcard: isWildcard)
    }

    /// `*.github.com` or `pypi.org`: what ``parse(_:)`` reads back to the same pattern.
    public var description: String {
        isWildcard ? "*." + name : name
    }

    /// True when `name` (already lowercase, no trailing dot, LDH-checked) is this name or below this wildcard.
    func matches(normalisedName: Substring) -> Bool {
        guard isWildcard else { return normalisedName == name }
        // `.github.com` at the end of a longer name: the dot keeps `evilgithub.com` out.
        let utf8 = normalisedName.utf8
        let suffix = name.utf8
        guard utf8.count > suffix.count + 1 else { return false }
        let tail = utf8.suffix(suffix.count + 1)
        return tail.first == UInt8(ascii: ".") && tail.dropFirst().elementsEqual(suffix)
    }

    // MARK: - Characters

    static func isLDH(_ byte: UInt8) -> Bool {
        isDigit(byte) || isUppercase(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || byte == UInt8(ascii: "-")
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    static func isUppercase(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")
    }

    /// An IPv4 address or CIDR, or anything with a `:` that reads as IPv6, so the message can send the
    /// caller to the network allow list instead of complaining about a character.
    private static func isIPLiteral(_ text: some StringProtocol) -> Bool {
        if (try? IPv4Address.parse(text)) != nil || (try? IPv4CIDR.parse(text)) != nil { return true }
        guard text.utf8.contains(UInt8(ascii: ":")) else { return false }
        return (try? IPv6Address.parse(text)) != nil || (try? IPv6CIDR.parse(text)) != nil
    }
}
