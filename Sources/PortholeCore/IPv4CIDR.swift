/// An IPv4 network in CIDR notation, as used in sandbox network allow lists.
public struct IPv4CIDR: Sendable, Hashable, CustomStringConvertible {
    /// Host byte order. May have host bits set until ``normalised`` is taken.
    public let address: UInt32
    /// 0…32.
    public let prefixLength: UInt8

    public init(address: UInt32, prefixLength: UInt8) {
        precondition(prefixLength <= 32, "an IPv4 prefix length is at most 32, got \(prefixLength)")
        self.address = address
        self.prefixLength = prefixLength
    }

    public init(address: IPv4Address, prefixLength: UInt8) {
        self.init(address: address.value, prefixLength: prefixLength)
    }

    /// Strict `a.b.c.d/n`: the address as ``IPv4Address/parse(_:)``, then a required prefix length 0…32
    /// in digits without leading zeros. No surrounding whitespace.
    public static func parse(_ text: some StringProtocol) throws(IPv4ParseError) -> IPv4CIDR {
        let utf8 = text.utf8
        guard let slash = utf8.firstIndex(of: UInt8(ascii: "/")) else {
            // Name the real problem first: `300.1.1.1` is a bad octet before it is a missing prefix.
            _ = try IPv4Address.parse(text)
            throw .missingPrefixLength
        }
        let address = try IPv4Address.parse(text[..<slash])
        let digits = utf8[utf8.index(after: slash)...]
        guard !digits.isEmpty else { throw .emptyPrefixLength }
        for byte in digits where !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            throw .unexpectedCharacter(byte)
        }
        let digitText = String(decoding: digits, as: UTF8.self)
        if digits.count > 1, digits.first == UInt8(ascii: "0") { throw .prefixLengthLeadingZero(digitText) }
        guard digits.count <= 2 else { throw .prefixLengthOutOfRange(digitText) }
        var value = 0
        for byte in digits {
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard value <= 32 else { throw .prefixLengthOutOfRange(digitText) }
        return IPv4CIDR(address: address.value, prefixLength: UInt8(value))
    }

    /// The network mask: `/8` → `255.0.0.0`, `/0` → `0.0.0.0`.
    public var mask: UInt32 {
        // Spelled out because a shift by the full width is a trap in C and easy to get wrong when porting.
        prefixLength == 0 ? 0 : UInt32.max << (32 - UInt32(prefixLength))
    }

    /// The same network with host bits cleared: `192.168.1.0/16` → `192.168.0.0/16`.
    public var normalised: IPv4CIDR {
        IPv4CIDR(address: address & mask, prefixLength: prefixLength)
    }

    /// True when no host bits are set.
    public var isNormalised: Bool {
        address & ~mask == 0
    }

    public func contains(_ address: UInt32) -> Bool {
        (address & mask) == (self.address & mask)
    }

    public func contains(_ address: IPv4Address) -> Bool {
        contains(address.value)
    }

    public var description: String {
        "\(IPv4Address(address))/\(prefixLength)"
    }
}
