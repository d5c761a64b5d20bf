/// An IPv6 address as two 64-bit halves in host byte order (`2001:db8::1` is
/// `high == 0x2001_0DB8_0000_0000`, `low == 1`).
public struct IPv6Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The 16 bytes of the address in network order, as found in `sin6_addr` or a PROXY v2 header;
    /// nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (offset, byte) in bytes.enumerated() {
            if offset < 8 {
                high = high << 8 | UInt64(byte)
            } else {
                low = low << 8 | UInt64(byte)
            }
        }
        self.init(high: high, low: low)
    }

    /// `::ffff:a.b.c.d`: what a dual-stack socket reports for an IPv4 peer.
    public init(ipv4Mapped address: IPv4Address) {
        self.init(high: 0, low: 0xFFFF_0000_0000 | UInt64(address.value))
    }

    /// The address in network order.
    public var bytes: [UInt8] {
        (0..<16).map { offset in
            let half = offset < 8 ? high : low
            return UInt8(truncatingIfNeeded: half >> (56 - 8 * UInt64(offset % 8)))
        }
    }

    /// The eight 16-bit groups, most significant first.
    public var groups: [UInt16] {
        (0..<8).map { index in
            let half = index < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> (48 - 16 * UInt64(index % 4)))
        }
    }

    /// The IPv4 address inside an IPv4-mapped address (`::ffff:10.0.0.1` → `10.0.0.1`), else nil.
    /// RFC 4291 §2.5.5.2: the IPv4-compatible form `::a.b.c.d` is deprecated and deliberately not unwrapped.
    public var ipv4Mapped: IPv4Address? {
        guard high == 0, low >> 32 == 0xFFFF else { return nil }
        return IPv4Address(UInt32(truncatingIfNeeded: low))
    }

    /// Strict RFC 4291 §2.2 text: eight groups of one to four hex digits separated by `:`, one `::`
    /// for one or more zero groups, and optionally a dotted-quad IPv4 address (strict, as
    /// ``IPv4Address/parse(_:)``) as the last 32 bits. No zone index (`%eth0`), no brackets, no
    /// surrounding whitespace: a trusted-proxy list must not carry an address that only a guess can read.
    public static func parse(_ text: some StringProtocol) throws(IPv6ParseError) -> IPv6Address {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty else { throw .emptyAddress }
        if utf8.contains(UInt8(ascii: "%")) { throw .zoneIndex }

        let colon = UInt8(ascii: ":")
        var compression: Int? = nil
        var index = 0
        while index + 1 < utf8.count {
            if utf8[index] == colon, utf8[index + 1] == colon {
                guard compression == nil else { throw .repeatedCompression }
                compression = index
                index += 2
                // `:::` is a compression followed by an empty group.
                if index < utf8.count, utf8[index] == colon { throw .emptyGroup }
            } else {
                index += 1
            }
        }

        let head: ArraySlice<UInt8>
        let tail: ArraySlice<UInt8>
        if let compression {
            head = utf8[..<compression]
            tail = utf8[(compression + 2)...]
        } else {
            head = utf8[...]
            tail = []
        }
        var headGroups = try parseGroups(head, endsAddress: compression == nil)
        let tailGroups = try parseGroups(tail, endsAddress: true)

        let given = headGroups.count + tailGroups.count
        if compression == nil {
            guard given == 8 else { throw .groupCount }
        } else {
            guard given != 8 else { throw .compressionWithEightGroups }
            guard given < 8 else { throw .groupCount }
            headGroups += Array(repeating: 0, count: 8 - given)
        }
        let groups = headGroups + tailGroups
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, group) in groups.enumerated() {
            if index < 4 {
                high = high << 16 | UInt64(group)
            } else {
                low = low << 16 | UInt64(group)
            }
        }
        return IPv6Address(high: high, low: low)
    }

    /// Groups of one side of `::` (or of the whole address). Only the part that ends the address may be
    /// a dotted quad, which counts as two groups.
    private static func parseGroups(_ text: ArraySlice<UInt8>, endsAddress: Bool) throws(IPv6ParseError) -> [UInt16] {
        guard !text.isEmpty else { return [] }
        let parts = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (offset, part) in parts.enumerated() {
            guard !part.isEmpty else { throw .emptyGroup }
            if part.contains(UInt8(ascii: ".")) {
                guard endsAddress, offset == parts.count - 1 else { throw .misplacedIPv4 }
                let ipv4: IPv4Address
                do {
                    ipv4 = try IPv4Address.parse(String(decoding: part, as: UTF8.self))
                } catch {
                    throw .invalidIPv4(error)
                }
                groups.append(UInt16(truncatingIfNeeded: ipv4.value >> 16))
                groups.append(UInt16(truncatingIfNeeded: ipv4.value))
                continue
            }
            for byte in part where ASCIIByte.hexValue(byte) == nil { throw .unexpectedCharacter(byte) }
            // Counting digits rather than the value: `00000` fits in 16 bits but is still not a group.
            guard part.count <= 4 else { throw .groupTooLong(String(decoding: part, as: UTF8.self)) }
            var value: UInt16 = 0
            for byte in part {
                value = value << 4 | UInt16(ASCIIByte.hexValue(byte)!)
            }
            groups.append(value)
        }
        return groups
    }

    /// RFC 5952 canonical text: lower-case hex without leading zeros, the longest run of two or more zero
    /// groups (the first of equal runs) as `::`, and IPv4-mapped addresses as `::ffff:a.b.c.d` (§5).
    public var description: String {
        if let ipv4 = ipv4Mapped { return "::ffff:\(ipv4)" }
        let groups = self.groups
        var bestStart = -1
        var bestLength = 1
        var runStart = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength {
                    bestStart = runStart
                    bestLength = index - runStart
                }
                runStart = -1
            }
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}
