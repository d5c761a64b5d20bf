/// An IPv4 network in CIDR notation, as used in sandbox network allow lists.
public struct IPv4CIDR: Sendable, Hashable, CustomStringConvertible {
    /// Host byte order. May have host bits set until ``normalized`` is taken.
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
        let (addressText, prefixLength) = CIDRPrefixLength.split(text, maximum: 32)
        // Name the real problem first: `300.1.1.1` is a bad octet before it is a missing prefix.
        let address = try IPv4Address.parse(addressText)
        switch prefixLength {
        case .success(let value): return IPv4CIDR(address: address.value, prefixLength: value)
        case .failure(let problem): throw .prefixLength(problem)
        }
    }

    /// The network mask: `/8` → `255.0.0.0`, `/0` → `0.0.0.0`.
    public var mask: UInt32 {
        // Spelled out because a shift by the full width is a trap in C and easy to get wrong when porting.
        prefixLength == 0 ? 0 : UInt32.max << (32 - UInt32(prefixLength))
    }

    /// The same network with host bits cleared: `192.168.1.0/16` → `192.168.0.0/16`.
    public var normalized: IPv4CIDR {
        IPv4CIDR(address: address & mask, prefixLength: prefixLength)
    }

    /// True when no host bits are set.
    public var isNormalized: Bool {
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
