import PortholeTestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PortholeCore
import Testing

@Suite("IPv6Address and IPv6CIDR")
struct IPv6AddressTests {
    @Test(arguments: [
        ("::", "::", 0 as UInt64, 0 as UInt64),
        ("::1", "::1", 0, 1),
        ("1::", "1::", 0x0001_0000_0000_0000, 0),
        ("2001:db8::1", "2001:db8::1", 0x2001_0DB8_0000_0000, 1),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1", 0x2001_0DB8_0000_0000, 1),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", 0x2001_0DB8_0000_0000, 0x0001_0000_0000_0001),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", 0x2001_0DB8_0000_0001, 0x0001_0001_0001_0001),
        ("2001:0:0:1::1", "2001:0:0:1::1", 0x2001_0000_0000_0001, 0x0000_0000_0000_0001),
        ("2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1", 0x2001_0000_0000_0001, 0x0000_0000_0001_0001),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", 0x0001_0002_0003_0004, 0x0005_0006_0007_0008),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", 0x0001_0002_0003_0004, 0x0005_0006_0007_0000),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8", 0x0000_0002_0003_0004, 0x0005_0006_0007_0008),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UInt64.max, UInt64.max),
        ("FE80::ABCD", "fe80::abcd", 0xFE80_0000_0000_0000, 0xABCD),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1", 0, 0x0000_FFFF_0A00_0001),
        ("::FFFF:0a00:0001", "::ffff:10.0.0.1", 0, 0x0000_FFFF_0A00_0001),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221", 0x0064_FF9B_0000_0000, 0xC000_0221),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304", 0x0001_0002_0003_0004, 0x0005_0006_0102_0304),
        ("::1.2.3.4", "::102:304", 0, 0x0102_0304),
        ("0:0:1:0:0:1:0:0", "::1:0:0:1:0:0", 0x0000_0000_0001_0000, 0x0000_0001_0000_0000),
    ])
    func parsesAndFormatsCanonically(_ text: String, _ canonical: String, _ high: UInt64, _ low: UInt64) throws {
        let address = try IPv6Address.parse(text)
        #expect(address == IPv6Address(high: high, low: low))
        #expect(address.description == canonical)
        #expect(try IPv6Address.parse(canonical) == address)
        #expect(try IPv6Address.parse(text[...]) == address)
        #expect(IPv6Address(bytes: address.bytes) == address)
    }

    @Test(arguments: [
        ("", "the address is empty"),
        (":", "a group between ':' is empty (only one '::' may stand for zeros)"),
        (":::", "a group between ':' is empty (only one '::' may stand for zeros)"),
        ("1:::2", "a group between ':' is empty (only one '::' may stand for zeros)"),
        (":1::2", "a group between ':' is empty (only one '::' may stand for zeros)"),
        ("1::2:", "a group between ':' is empty (only one '::' may stand for zeros)"),
        (":1:2:3:4:5:6:7", "a group between ':' is empty (only one '::' may stand for zeros)"),
        ("1:2:3:4:5:6:7:", "a group between ':' is empty (only one '::' may stand for zeros)"),
        ("1::2::3", "'::' may appear only once"),
        ("::1::", "'::' may appear only once"),
        ("1:2:3:4:5:6:7:8::", "'::' must stand for at least one group, but eight are given"),
        ("::1:2:3:4:5:6:7:8", "'::' must stand for at least one group, but eight are given"),
        ("1:2:3:4::5:6:7:8", "'::' must stand for at least one group, but eight are given"),
        ("1:2:3:4:5:6:7:8:9::", "expected eight groups of hex digits separated by ':', or fewer with one '::'"),
        ("1:2:3:4:5:6:7", "expected eight groups of hex digits separated by ':', or fewer with one '::'"),
        ("1:2:3:4:5:6:7:8:9", "expected eight groups of hex digits separated by ':', or fewer with one '::'"),
        ("1", "expected eight groups of hex digits separated by ':', or fewer with one '::'"),
        ("1.2.3.4", "expected eight groups of hex digits separated by ':', or fewer with one '::'"),
        ("1:2:3:4:5:6:7:1.2.3.4", "expected eight groups of hex digits separated by ':', or fewer with one '::'"),
        ("12345::", "group 12345 has more than four hex digits"),
        ("::00000", "group 00000 has more than four hex digits"),
        ("::fffff", "group fffff has more than four hex digits"),
        ("::g", "unexpected character 'g'"),
        ("[::1]", "unexpected character '['"),
        ("::1/128", "unexpected character '/'"),
        (" ::1", "unexpected character ' '"),
        ("::1 ", "unexpected character ' '"),
        ("::\u{301}", "unexpected character 0xCC"),
        ("fe80::1%eth0", "a zone index ('%…') is not allowed"),
        ("fe80::1%1", "a zone index ('%…') is not allowed"),
        ("1.2.3.4::", "an embedded IPv4 address may only be the last 32 bits"),
        ("::1.2.3.4:1", "an embedded IPv4 address may only be the last 32 bits"),
        ("1.2.3.4::1", "an embedded IPv4 address may only be the last 32 bits"),
        ("::ffff:1.2.3", "embedded IPv4 address: expected four octets separated by '.'"),
        ("::ffff:1.2.3.256", "embedded IPv4 address: octet 256 is out of range"),
        ("::ffff:01.2.3.4", "embedded IPv4 address: octet 01 has a leading zero"),
        ("::ffff:1.2.3.x", "embedded IPv4 address: unexpected character 'x'"),
    ])
    func rejectsAddresses(_ text: String, _ expected: String) {
        do {
            let address = try IPv6Address.parse(text)
            Issue.record("parsed \(address)")
        } catch {
            #expect(error.message == expected)
            #expect(error.description == expected)
        }
    }

    @Test func mappedAddresses() throws {
        #expect(try IPv6Address.parse("::ffff:192.168.0.1").ipv4Mapped == IPv4Address(192, 168, 0, 1))
        #expect(IPv6Address(ipv4Mapped: IPv4Address(10, 0, 0, 1)) == (try IPv6Address.parse("::ffff:10.0.0.1")))
        // The deprecated IPv4-compatible form and NAT64 are IPv6 addresses, not IPv4 clients.
        #expect(try IPv6Address.parse("::10.0.0.1").ipv4Mapped == nil)
        #expect(try IPv6Address.parse("64:ff9b::10.0.0.1").ipv4Mapped == nil)
        #expect(try IPv6Address.parse("1::ffff:10.0.0.1").ipv4Mapped == nil)
    }

    @Test func bytesAndGroupsAreNetworkOrder() throws {
        let address = try IPv6Address.parse("2001:db8:1:2:3:4:5:6")
        #expect(address.bytes == [0x20, 0x01, 0x0D, 0xB8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6])
        #expect(address.groups == [0x2001, 0x0DB8, 1, 2, 3, 4, 5, 6])
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 15)) == nil)
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 17)) == nil)
        #expect(try IPv6Address.parse("::1") < IPv6Address.parse("::2"))
        #expect(try IPv6Address.parse("::ffff") < IPv6Address.parse("1::"))
    }

    /// The parser must accept exactly what the C library's `inet_pton` accepts (it is as strict about
    /// embedded IPv4 leading zeros and five-digit groups), and produce the same bytes. Deterministic.
    @Test func agreesWithInetPtonOnGeneratedText() {
        var random = SplitMix64(state: 0x1234_5678)
        let alphabet = Array("0123456789abcdefABCDEF::::::..g".utf8)
        var accepted = 0
        for round in 0..<20_000 {
            let text: String
            if round % 2 == 0 {
                // Mostly well-formed: eight random groups, some zeroed, then an optional compression.
                text = Self.generatedAddress(&random)
            } else {
                let length = Int(random.next() % 24)
                text = String(decoding: (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }, as: UTF8.self)
            }
            var expected = in6_addr()
            let libc = inet_pton(AF_INET6, text, &expected) == 1
            let ours = try? IPv6Address.parse(text)
            #expect((ours != nil) == libc, "\(text): ours \(ours.map(\.description) ?? "refused"), inet_pton \(libc)")
            if let ours, libc {
                accepted += 1
                let bytes = withUnsafeBytes(of: &expected) { Array($0) }
                #expect(ours.bytes == bytes, "\(text)")
                #expect((try? IPv6Address.parse(ours.description)) == ours, "\(text) → \(ours)")
            }
        }
        #expect(accepted > 9_000)
    }

    /// RFC 5952 output matches `inet_ntop`, except where glibc prints the deprecated IPv4-compatible form.
    @Test func formatsLikeInetNtop() {
        var random = SplitMix64(state: 42)
        for _ in 0..<5_000 {
            let address = try! IPv6Address.parse(Self.generatedAddress(&random))
            if address.high == 0, address.low >> 32 == 0 { continue }
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: address.bytes) }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
            let formatted = String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(address.description == formatted)
        }
    }

    static func generatedAddress(_ random: inout SplitMix64) -> String {
        var groups = (0..<8).map { _ in random.next() % 3 == 0 ? 0 : UInt16(truncatingIfNeeded: random.next() >> (random.next() % 16)) }
        if random.next() % 5 == 0 { groups[0...5] = [0, 0, 0, 0, 0, 0xFFFF] }
        var parts = groups.map { String($0, radix: 16, uppercase: random.next() % 2 == 0) }
        if random.next() % 4 == 0 {
            parts[6...7] = ["\(groups[6] >> 8).\(groups[6] & 0xFF).\(groups[7] >> 8).\(groups[7] & 0xFF)"]
        }
        guard random.next() % 3 != 0 else { return parts.joined(separator: ":") }
        // Replace a random run of zero groups (or none) by `::`.
        let start = Int(random.next() % UInt64(parts.count))
        var end = start
        while end < parts.count, parts[end] == "0" { end += 1 }
        guard end > start else { return parts.joined(separator: ":") }
        return parts[..<start].joined(separator: ":") + "::" + parts[end...].joined(separator: ":")
    }

    @Test(arguments: [
        ("::/0", "::/0"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("2001:db8::1/128", "2001:db8::1/128"),
        ("fe80::/10", "fe80::/10"),
        ("2001:DB8:0:0:800::/72", "2001:db8:0:0:800::/72"),
    ])
    func parsesCIDRs(_ text: String, _ description: String) throws {
        let cidr = try IPv6CIDR.parse(text)
        #expect(cidr.description == description)
        #expect(cidr.isNormalized)
        #expect(try IPv6CIDR.parse(description) == cidr)
    }

    @Test(arguments: [
        ("2001:db8::", "missing prefix length"),
        ("2001:db8::g", "unexpected character 'g'"),
        ("2001:db8::/", "the prefix length after '/' is empty"),
        ("2001:db8::/129", "prefix length 129 is greater than 128"),
        ("2001:db8::/1000", "prefix length 1000 is greater than 128"),
        ("2001:db8::/032", "prefix length 032 has a leading zero"),
        ("2001:db8::/00", "prefix length 00 has a leading zero"),
        ("2001:db8::/3a", "unexpected character 'a'"),
        ("2001:db8::/-1", "unexpected character '-'"),
        ("2001:db8::/32/32", "unexpected character '/'"),
        ("2001:db8::/ 32", "unexpected character ' '"),
        ("/32", "the address is empty"),
    ])
    func rejectsCIDRs(_ text: String, _ expected: String) {
        do {
            let cidr = try IPv6CIDR.parse(text)
            Issue.record("parsed \(cidr)")
        } catch {
            #expect(error.message == expected)
        }
    }

    @Test func masksAndNormalisation() throws {
        let masks: [(UInt8, UInt64, UInt64)] = [
            (0, 0, 0), (1, 0x8000_0000_0000_0000, 0), (63, 0xFFFF_FFFF_FFFF_FFFE, 0), (64, .max, 0),
            (65, .max, 0x8000_0000_0000_0000), (72, .max, 0xFF00_0000_0000_0000), (127, .max, 0xFFFF_FFFF_FFFF_FFFE), (128, .max, .max),
        ]
        for (length, high, low) in masks {
            let mask = IPv6CIDR(address: IPv6Address(high: 0, low: 0), prefixLength: length).mask
            #expect(mask.high == high && mask.low == low, "/\(length)")
        }
        let loose = try IPv6CIDR.parse("2001:db8::1/32")
        #expect(!loose.isNormalized)
        #expect(loose.normalized.description == "2001:db8::/32")
        #expect(loose.contains(try IPv6Address.parse("2001:db8:ffff::")))
        #expect(!loose.contains(try IPv6Address.parse("2001:db9::")))
    }

    /// For every prefix length: the network holds every address that differs only in host bits and
    /// none that differs in a network bit.
    @Test func containsAtEveryPrefixLength() {
        var random = SplitMix64(state: 7)
        for length in 0...128 {
            let address = IPv6Address(high: random.next(), low: random.next())
            let cidr = IPv6CIDR(address: address, prefixLength: UInt8(length))
            #expect(cidr.contains(address))
            #expect(cidr.normalized.contains(address))
            for bit in 0..<128 {
                var flipped = address
                if bit < 64 { flipped.high ^= 1 << (63 - UInt64(bit)) } else { flipped.low ^= 1 << (127 - UInt64(bit)) }
                #expect(cidr.contains(flipped) == (bit >= length), "/\(length) bit \(bit)")
            }
        }
    }
}

@Suite("TrustedProxies")
struct TrustedProxiesTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("10.0.0.0/8,fd00::/8", "10.0.0.0/8,fd00::/8"),
        (" 10.0.0.0/8 ,\tfd00::/8\n", "10.0.0.0/8,fd00::/8"),
        ("192.168.1.7", "192.168.1.7/32"),
        ("2001:db8::7", "2001:db8::7/128"),
        ("::1", "::1/128"),
        ("127.0.0.1, ::1", "127.0.0.1/32,::1/128"),
        ("10.0.0.0/8,10.0.0.0/8,fd00::/8,FD00::/8", "10.0.0.0/8,fd00::/8"),
        ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
        ("::ffff:10.0.0.1", "10.0.0.1/32"),
        ("::ffff:0:0/96", "0.0.0.0/0"),
        ("10.0.0.0/8,::ffff:10.0.0.0/104", "10.0.0.0/8"),
        ("0.0.0.0/0,::/0", "0.0.0.0/0,::/0"),
        ("172.16.0.0/12,10.0.0.0/8", "172.16.0.0/12,10.0.0.0/8"),
    ])
    func parsesLists(_ text: String, _ description: String) throws {
        let list = try TrustedProxies.parse(text)
        #expect(list.description == description)
        #expect(try TrustedProxies.parse(list.description) == list)
        #expect(!list.isEmpty)
    }

    @Test(arguments: ["", " ", "\t\n"])
    func emptyTextTrustsNobody(_ text: String) throws {
        let list = try TrustedProxies.parse(text)
        #expect(list == .none)
        #expect(list.isEmpty)
        #expect(list.description == "")
        #expect(!list.contains("127.0.0.1"))
        #expect(!list.contains("::1"))
    }

    @Test(arguments: [
        (",", "entry 1 of the trusted proxy list is empty; separate addresses or CIDRs with single commas"),
        ("10.0.0.0/8,", "entry 2 of the trusted proxy list is empty; separate addresses or CIDRs with single commas"),
        ("10.0.0.0/8,,::1", "entry 2 of the trusted proxy list is empty; separate addresses or CIDRs with single commas"),
        ("10.0.0.0/8, ,::1", "entry 2 of the trusted proxy list is empty; separate addresses or CIDRs with single commas"),
        (",10.0.0.0/8", "entry 1 of the trusted proxy list is empty; separate addresses or CIDRs with single commas"),
        ("300.1.1.1/8", "trusted proxy \"300.1.1.1/8\" is not an IPv4 address or CIDR: octet 300 is out of range"),
        ("10.0.0.0/33", "trusted proxy \"10.0.0.0/33\" is not an IPv4 address or CIDR: prefix length 33 is greater than 32"),
        ("10.0.0.0/", "trusted proxy \"10.0.0.0/\" is not an IPv4 address or CIDR: the prefix length after '/' is empty"),
        ("010.0.0.1", "trusted proxy \"010.0.0.1\" is not an IPv4 address or CIDR: octet 010 has a leading zero"),
        ("10.0.0.1:8080", "trusted proxy \"10.0.0.1:8080\" is not an IPv4 address or CIDR: unexpected character ':'"),
        ("localhost", "trusted proxy \"localhost\" is not an IPv4 address or CIDR: unexpected character 'l'"),
        ("*", "trusted proxy \"*\" is not an IPv4 address or CIDR: unexpected character '*'"),
        ("10.0.0.0/8 10.1.0.0/16", "trusted proxy \"10.0.0.0/8 10.1.0.0/16\" is not an IPv4 address or CIDR: unexpected character ' '"),
        ("10.0.0.0/8;fd00::/8", "trusted proxy \"10.0.0.0/8;fd00::/8\" is not an IPv4 address or CIDR: unexpected character ';'"),
        ("fd00::/8, fe80::1%eth0", "trusted proxy \"fe80::1%eth0\" is not an IPv6 address or CIDR: a zone index ('%…') is not allowed"),
        ("[::1]", "trusted proxy \"[::1]\" is not an IPv6 address or CIDR: unexpected character '['"),
        ("[::1]:443", "trusted proxy \"[::1]:443\" is not an IPv6 address or CIDR: unexpected character '['"),
        ("fd00::/129", "trusted proxy \"fd00::/129\" is not an IPv6 address or CIDR: prefix length 129 is greater than 128"),
        ("1::2::3", "trusted proxy \"1::2::3\" is not an IPv6 address or CIDR: '::' may appear only once"),
        ("10.0.0.1/8", "trusted proxy \"10.0.0.1/8\" has host bits set; write the network as 10.0.0.0/8 or the host as a bare address"),
        ("0.0.0.1/0", "trusted proxy \"0.0.0.1/0\" has host bits set; write the network as 0.0.0.0/0 or the host as a bare address"),
        ("fd00::1/8", "trusted proxy \"fd00::1/8\" has host bits set; write the network as fd00::/8 or the host as a bare address"),
        (
            "::ffff:10.0.0.1/104",
            "trusted proxy \"::ffff:10.0.0.1/104\" has host bits set; write the network as ::ffff:10.0.0.0/104 or the host as a bare address"
        ),
    ])
    func rejectsBadLists(_ text: String, _ expected: String) {
        do {
            let list = try TrustedProxies.parse(text)
            Issue.record("parsed \(list)")
        } catch {
            #expect(error.message == expected)
            #expect(error.description == expected)
        }
    }

    @Test func errorNamesTheEntry() {
        do {
            _ = try TrustedProxies.parse("10.0.0.0/8,  fd00::zz ,::1")
            Issue.record("expected an error")
        } catch {
            #expect(error.entry == "fd00::zz")
        }
        do {
            _ = try TrustedProxies.parse("10.0.0.0/8,,::1")
            Issue.record("expected an error")
        } catch {
            #expect(error.entry == nil)
        }
        do {
            _ = try TrustedProxies.parse(String(repeating: "9", count: 200))
            Issue.record("expected an error")
        } catch {
            #expect(error.entry == String(repeating: "9", count: 64) + "…")
            #expect(error.message.utf8.count < 200)
        }
    }

    @Test func containsMatchesEachFamilyAgainstItsOwnEntries() throws {
        let list = try TrustedProxies.parse("10.0.0.0/8, 192.168.1.7, 2001:db8::/32, ::1")
        for trusted in [
            "10.0.0.0", "10.255.255.255", "192.168.1.7", "2001:db8::", "2001:db8:ffff::1", "::1",
            "::ffff:10.1.2.3", "::ffff:192.168.1.7", "2001:DB8::1", "2001:0db8:0:0:0:0:0:1",
        ] {
            #expect(list.contains(trusted), "\(trusted)")
        }
        for untrusted in [
            "11.0.0.0", "9.255.255.255", "192.168.1.6", "192.168.1.8", "2001:db9::", "::2",
            "::ffff:11.0.0.1", "::10.0.0.1", "fe80::1",
        ] {
            #expect(!list.contains(untrusted), "\(untrusted)")
        }
        // Text that is not a strict address is never trusted.
        for junk in ["", "10.0.0.1 ", " 10.0.0.1", "010.0.0.1", "10.0.0.1:80", "[::1]", "::1%lo", "localhost", "10.0.0.0/8"] {
            #expect(!list.contains(junk), "\(junk)")
        }
    }

    @Test func ipv6EntriesDoNotTrustIPv4Clients() throws {
        let list = try TrustedProxies.parse("::/0")
        #expect(list.contains("2001:db8::1"))
        #expect(!list.contains("10.0.0.1"))
        #expect(!list.contains("::ffff:10.0.0.1"))
        let everyone = try TrustedProxies.parse("0.0.0.0/0")
        #expect(everyone.contains("10.0.0.1"))
        #expect(everyone.contains("::ffff:10.0.0.1"))
        #expect(!everyone.contains("2001:db8::1"))
    }

    @Test func containsAddressBytesAndTypedAddresses() throws {
        let list = try TrustedProxies.parse("10.0.0.0/8,fd00::/8")
        #expect(list.contains(addressBytes: [10, 1, 2, 3]))
        #expect(!list.contains(addressBytes: [11, 1, 2, 3]))
        #expect(list.contains(addressBytes: [0xFD] + [UInt8](repeating: 7, count: 15)))
        #expect(!list.contains(addressBytes: [0xFE] + [UInt8](repeating: 7, count: 15)))
        #expect(list.contains(addressBytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 0, 0, 1]))
        for count in [0, 1, 3, 5, 8, 15, 17] {
            #expect(!list.contains(addressBytes: [UInt8](repeating: 10, count: count)))
        }
        #expect(list.contains(IPv4Address(10, 0, 0, 1)))
        #expect(!list.contains(IPv4Address(12, 0, 0, 1)))
        #expect(list.contains(IPv6Address(ipv4Mapped: IPv4Address(10, 0, 0, 1))))
        #expect(list.contains(try IPv6Address.parse("fdff::1")))
    }

    /// Every IPv4 prefix length, through the list: host bits never matter, network bits always do.
    @Test func ipv4ContainsAtEveryPrefixLength() {
        var random = SplitMix64(state: 99)
        for length in 0...32 {
            let address = IPv4Address(UInt32(truncatingIfNeeded: random.next()))
            let list = TrustedProxies(networks: [.v4(IPv4CIDR(address: address, prefixLength: UInt8(length)))])
            #expect(list.contains(address))
            for bit in 0..<32 {
                let flipped = IPv4Address(address.value ^ (1 << (31 - UInt32(bit))))
                #expect(list.contains(flipped) == (bit >= length), "/\(length) bit \(bit)")
                #expect(list.contains(IPv6Address(ipv4Mapped: flipped)) == (bit >= length))
            }
        }
    }

    @Test func memberwiseInitialiserNormalisesUnmapsAndDeduplicates() throws {
        let list = TrustedProxies(networks: [
            .v4(try IPv4CIDR.parse("10.1.0.0/8")),
            .v4(try IPv4CIDR.parse("10.0.0.0/8")),
            .v6(try IPv6CIDR.parse("fd00::1/8")),
            .v6(try IPv6CIDR.parse("::ffff:10.0.0.0/104")),
            .v6(try IPv6CIDR.parse("::ffff:192.168.0.1/128")),
        ])
        #expect(list.description == "10.0.0.0/8,fd00::/8,192.168.0.1/32")
        #expect(list.networks.count == 3)
        #expect(list.networks.first?.description == "10.0.0.0/8")
        #expect(TrustedProxies.none.networks.isEmpty)
    }
}
