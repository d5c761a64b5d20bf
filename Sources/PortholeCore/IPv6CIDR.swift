/// An IPv6 network in CIDR notation (`2001:db8::/32`).
public struct IPv6CIDR: Sendable, Hashable, CustomStringConvertible {
    /// May have host bits set until ``normalized`` is taken.
    public let address: IPv6Address
    /// 0…128.
    public let prefixLength: UInt8

    public init(address: IPv6Address, prefixLength: UInt8) {
        precondition(prefixLength <= 128, "an IPv6 prefix length is at most 128, got \(prefixLength)")
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Strict `address/n`: the address as ``IPv6Address/parse(_:)``, then a required prefix length
    /// 0…128 in digits without leading zeros. No surrounding whitespace.
    public static func parse(_ text: some StringProtocol) throws(IPv6ParseError) -> IPv6CIDR {
        let (addressText, prefixLength) = CIDRPrefixLength.split(text, maximum: 128)
        // Name the real problem first: a bad group is worse than a missing prefix.
        let address = try IPv6Address.parse(addressText)
        switch prefixLength {
        case .success(let value): return IPv6CIDR(address: address, prefixLength: value)
        case .failure(let problem): throw .prefixLength(problem)
        }
    }

    /// The network mask as two halves: `/72` → `ffff:ffff:ffff:ffff:ff00::`.
    public var mask: (high: UInt64, low: UInt64) {
        // Shifts by the full width are spelled out: `UInt64.max << 64` is 0 in Swift but a trap in C.
        let length = UInt64(prefixLength)
        let high: UInt64 = length == 0 ? 0 : (length >= 64 ? .max : .max << (64 - length))
        let low: UInt64 = length <= 64 ? 0 : (length == 128 ? .max : .max << (128 - length))
        return (high, low)
    }

    /// The same network with host bits cleared: `2001:db8::1/32` → `2001:db8::/32`.
    public var normalized: IPv6CIDR {
        let mask = self.mask
        return IPv6CIDR(address: IPv6Address(high: address.high & mask.high, low: address.low & mask.low), prefixLength: prefixLength)
    }

    /// True when no host bits are set.
    public var isNormalized: Bool {
        let mask = self.mask
        return address.high & ~mask.high == 0 && address.low & ~mask.low == 0
    }

    public func contains(_ other: IPv6Address) -> Bool {
        let mask = self.mask
        return (other.high & mask.high) == (address.high & mask.high)
            && (other.low & mask.low) == (address.low & mask.low)
    }

    public var description: String {
        "\(address)/\(prefixLength)"
    }
}
