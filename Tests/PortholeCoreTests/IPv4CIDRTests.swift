import PortholeCore
import Testing

@Suite("IPv4Address and IPv4CIDR")
struct IPv4CIDRTests {
    @Test(arguments: [
        ("0.0.0.0", 0 as UInt32),
        ("255.255.255.255", UInt32.max),
        ("10.0.0.1", 0x0A00_0001),
        ("192.168.1.254", 0xC0A8_01FE),
        ("1.2.3.4", 0x0102_0304),
        ("100.64.0.0", 0x6440_0000),
    ])
    func parsesAddresses(_ text: String, _ value: UInt32) throws {
        let address = try IPv4Address.parse(text)
        #expect(address.value == value)
        #expect(address.description == text)
        #expect(try IPv4Address.parse(text[...]) == address)
    }

    @Test func octetInitialiserAndComparison() {
        #expect(IPv4Address(10, 0, 0, 1) == IPv4Address(0x0A00_0001))
        #expect(IPv4Address(10, 0, 0, 1) < IPv4Address(10, 0, 0, 2))
        let (a, b, c, d) = IPv4Address(192, 168, 7, 9).octets
        #expect([a, b, c, d] == [192, 168, 7, 9])
    }

    @Test(arguments: [
        ("", "the address is empty"),
        ("1.2.3", "expected four octets separated by '.'"),
        ("1.2.3.4.5", "expected four octets separated by '.'"),
        ("1", "expected four octets separated by '.'"),
        ("1..2.3", "an octet is empty"),
        ("1.2.3.4.", "expected four octets separated by '.'"),
        ("1.2.3.", "an octet is empty"),
        (".1.2.3", "an octet is empty"),
        ("256.0.0.0", "octet 256 is out of range"),
        ("0.0.0.256", "octet 256 is out of range"),
        ("300.1.1.1", "octet 300 is out of range"),
        ("999.1.1.1", "octet 999 is out of range"),
        ("1000.0.0.0", "octet 1000 is out of range"),
        ("99999999999999999999.0.0.0", "octet 999999999999… is out of range"),
        ("010.0.0.1", "octet 010 has a leading zero"),
        ("00.0.0.0", "octet 00 has a leading zero"),
        ("1.2.3.04", "octet 04 has a leading zero"),
        ("0300.0.0.0", "octet 0300 has a leading zero"),
        ("-1.0.0.0", "unexpected character '-'"),
        ("+1.0.0.0", "unexpected character '+'"),
        ("1.2.3.a", "unexpected character 'a'"),
        ("0x0A.0.0.1", "unexpected character 'x'"),
        (" 1.2.3.4", "unexpected character ' '"),
        ("1.2.3.4 ", "unexpected character ' '"),
        ("1.2.3.4\n", "unexpected character 0x0A"),
        ("１.2.3.4", "unexpected character 0xEF"),
    ])
    func rejectsBadAddresses(_ text: String, _ message: String) {
        #expect(throws: IPv4ParseError.self) { try IPv4Address.parse(text) }
        do {
            _ = try IPv4Address.parse(text)
        } catch {
            #expect(error.message == message)
            #expect(error.description == message)
        }
    }

    @Test(arguments: [
        ("10.0.0.0/8", 0x0A00_0000 as UInt32, 8 as UInt8),
        ("0.0.0.0/0", 0, 0),
        ("255.255.255.255/32", UInt32.max, 32),
        ("192.168.1.7/32", 0xC0A8_0107, 32),
        ("192.168.1.0/16", 0xC0A8_0100, 16),
        ("172.16.0.0/12", 0xAC10_0000, 12),
        ("1.2.3.4/9", 0x0102_0304, 9),
    ])
    func parsesCIDRs(_ text: String, _ address: UInt32, _ prefix: UInt8) throws {
        let cidr = try IPv4CIDR.parse(text)
        #expect(cidr.address == address)
        #expect(cidr.prefixLength == prefix)
        #expect(cidr.description == text)
    }

    @Test(arguments: [
        ("10.0.0.0", "missing prefix length"),
        ("300.1.1.1", "octet 300 is out of range"),
        ("300.1.1.1/8", "octet 300 is out of range"),
        ("10.0.0.0/", "the prefix length after '/' is empty"),
        ("10.0.0.0/33", "prefix length 33 is greater than 32"),
        ("10.0.0.0/99", "prefix length 99 is greater than 32"),
        ("10.0.0.0/100", "prefix length 100 is greater than 32"),
        ("10.0.0.0/4294967304", "prefix length 4294967304 is greater than 32"),
        ("10.0.0.0/08", "prefix length 08 has a leading zero"),
        ("10.0.0.0/00", "prefix length 00 has a leading zero"),
        ("10.0.0.0/-1", "unexpected character '-'"),
        ("10.0.0.0/+8", "unexpected character '+'"),
        ("10.0.0.0/8 ", "unexpected character ' '"),
        ("10.0.0.0 /8", "unexpected character ' '"),
        ("10.0.0.0/8/8", "unexpected character '/'"),
        ("10.0.0.0/0x8", "unexpected character 'x'"),
        ("/8", "the address is empty"),
        ("/", "the address is empty"),
        ("", "the address is empty"),
        ("10.0.0/8", "expected four octets separated by '.'"),
        ("010.0.0.0/8", "octet 010 has a leading zero"),
    ])
    func rejectsBadCIDRs(_ text: String, _ message: String) {
        do {
            let cidr = try IPv4CIDR.parse(text)
            Issue.record("expected \(message), parsed \(cidr)")
        } catch {
            #expect(error.message == message)
        }
    }

    @Test(arguments: [
        ("192.168.1.0/16", "192.168.0.0/16", false),
        ("10.1.2.3/8", "10.0.0.0/8", false),
        ("255.255.255.255/0", "0.0.0.0/0", false),
        ("255.255.255.255/1", "128.0.0.0/1", false),
        ("255.255.255.255/31", "255.255.255.254/31", false),
        ("10.1.2.3/32", "10.1.2.3/32", true),
        ("10.0.0.0/8", "10.0.0.0/8", true),
        ("0.0.0.0/0", "0.0.0.0/0", true),
    ])
    func normalisesHostBits(_ text: String, _ normalized: String, _ alreadyNormal: Bool) throws {
        let cidr = try IPv4CIDR.parse(text)
        #expect(cidr.normalized.description == normalized)
        #expect(cidr.isNormalized == alreadyNormal)
        #expect(cidr.normalized.isNormalized)
        #expect(cidr.normalized.normalized == cidr.normalized)
    }

    @Test(arguments: [
        (0 as UInt8, 0 as UInt32),
        (1, 0x8000_0000),
        (8, 0xFF00_0000),
        (12, 0xFFF0_0000),
        (24, 0xFFFF_FF00),
        (31, 0xFFFF_FFFE),
        (32, 0xFFFF_FFFF),
    ])
    func masks(_ prefix: UInt8, _ mask: UInt32) {
        #expect(IPv4CIDR(address: 0, prefixLength: prefix).mask == mask)
    }

    @Test func containsRespectsBoundaries() throws {
        let ten = try IPv4CIDR.parse("10.0.0.0/8")
        #expect(ten.contains(IPv4Address(10, 0, 0, 0)))
        #expect(ten.contains(IPv4Address(10, 255, 255, 255)))
        #expect(!ten.contains(IPv4Address(11, 0, 0, 0)))
        #expect(!ten.contains(IPv4Address(9, 255, 255, 255)))

        let any = try IPv4CIDR.parse("0.0.0.0/0")
        for address: UInt32 in [0, 1, 0x7FFF_FFFF, 0x8000_0000, UInt32.max] {
            #expect(any.contains(address))
        }

        let single = try IPv4CIDR.parse("192.168.1.7/32")
        #expect(single.contains(IPv4Address(192, 168, 1, 7)))
        #expect(!single.contains(IPv4Address(192, 168, 1, 6)))
        #expect(!single.contains(IPv4Address(192, 168, 1, 8)))

        // Host bits in the stored address do not change what the network contains.
        let unnormalised = try IPv4CIDR.parse("192.168.1.0/16")
        #expect(unnormalised.contains(IPv4Address(192, 168, 200, 1)))
        #expect(!unnormalised.contains(IPv4Address(192, 169, 0, 0)))
    }

    @Test func prefixLengthAbove32Traps() async {
        await #expect(processExitsWith: .failure) {
            _ = IPv4CIDR(address: 0, prefixLength: 33)
        }
    }
}
