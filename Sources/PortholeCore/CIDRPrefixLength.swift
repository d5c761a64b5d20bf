/// The prefix length after the `/` of a CIDR, for both address families: required, digits only,
/// no leading zero, at most `maximum` (32 or 128).
enum CIDRPrefixLength {
    /// What is wrong with it; each family's parse error carries one.
    enum Problem: Error, Sendable, Hashable {
        case missing
        case empty
        case unexpectedCharacter(UInt8)
        case leadingZero(String)
        case outOfRange(String, maximum: UInt8)

        var message: String {
            switch self {
            case .missing: "missing prefix length"
            case .empty: "the prefix length after '/' is empty"
            case .unexpectedCharacter(let byte): "unexpected character \(PrintableByte.describe(byte))"
            case .leadingZero(let text): "prefix length \(text) has a leading zero"
            case .outOfRange(let text, let maximum): "prefix length \(text) is greater than \(maximum)"
            }
        }
    }

    /// Splits `text` at its `/`: the address part and the prefix length, or the problem with the
    /// latter. The address part is returned whole when there is no `/`, so callers can name a bad
    /// address before a missing prefix (`300.1.1.1` is a bad octet first).
    static func split<Text: StringProtocol>(
        _ text: Text, maximum: UInt8
    ) -> (address: Text.SubSequence, prefixLength: Result<UInt8, Problem>) {
        let utf8 = text.utf8
        guard let slash = utf8.firstIndex(of: UInt8(ascii: "/")) else {
            return (text[...], .failure(.missing))
        }
        return (text[..<slash], parse(utf8[utf8.index(after: slash)...], maximum: maximum))
    }

    private static func parse(_ digits: some Collection<UInt8>, maximum: UInt8) -> Result<UInt8, Problem> {
        guard !digits.isEmpty else { return .failure(.empty) }
        for byte in digits where !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            return .failure(.unexpectedCharacter(byte))
        }
        let digitText = PrintableByte.bounded(String(decoding: digits, as: UTF8.self))
        if digits.count > 1, digits.first == UInt8(ascii: "0") { return .failure(.leadingZero(digitText)) }
        // Three digits hold any valid length; more could overflow the sum below.
        guard digits.count <= 3 else { return .failure(.outOfRange(digitText, maximum: maximum)) }
        let value = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard value <= Int(maximum) else { return .failure(.outOfRange(digitText, maximum: maximum)) }
        return .success(UInt8(value))
    }
}
