/// An IPv4 address in host byte order (`10.0.0.1` is `0x0A00_0001`).
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) {
        self.value = value
    }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self.value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Strict dotted-quad: exactly four decimal octets 0…255, digits only, no leading zeros.
    /// Leading zeros are refused because `010` means 8 to `inet_aton` and 10 to humans; the firewall
    /// must never guess which one a policy meant.
    public static func parse(_ text: some StringProtocol) throws(IPv4ParseError) -> IPv4Address {
        guard !text.isEmpty else { throw .emptyAddress }
        var value: UInt32 = 0
        var octets = 0
        for part in text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            octets += 1
            guard octets <= 4 else { throw .octetCount }
            value = value << 8 | UInt32(try parseOctet(part))
        }
        guard octets == 4 else { throw .octetCount }
        return IPv4Address(value)
    }

    private static func parseOctet(_ digits: some Collection<UInt8>) throws(IPv4ParseError) -> UInt8 {
        guard !digits.isEmpty else { throw .emptyOctet }
        for byte in digits where !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            throw .unexpectedCharacter(byte)
        }
        let text = String(decoding: digits, as: UTF8.self)
        if digits.count > 1, digits.first == UInt8(ascii: "0") { throw .octetLeadingZero(text) }
        // Four or more digits without a leading zero are above 255; checking the count first rules out overflow.
        guard digits.count <= 3 else { throw .octetOutOfRange(text) }
        var value = 0
        for byte in digits {
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard value <= 255 else { throw .octetOutOfRange(text) }
        return UInt8(value)
    }

    public var octets: (UInt8, UInt8, UInt8, UInt8) {
        (
            UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
            UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)
        )
    }

    public var description: String {
        let (a, b, c, d) = octets
        return "\(a).\(b).\(c).\(d)"
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool {
        lhs.value < rhs.value
    }
}
