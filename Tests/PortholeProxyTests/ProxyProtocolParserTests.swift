import NIOCore
@_spi(Benchmarks) @testable import PortholeProxy
import Testing

@Suite("ProxyProtocolParser")
struct ProxyProtocolParserTests {
    typealias Bytes = ProxyProtocolBytes

    private func parse(_ bytes: [UInt8], maximumV2Length: Int = ProxyProtocolDecoder.defaultMaximumV2Length) throws(ProxyProtocolError)
        -> ProxyProtocolParser.Outcome
    {
        try ProxyProtocolParser.parse(ByteBuffer(bytes: bytes), maximumV2Length: maximumV2Length)
    }

    private func error(_ bytes: [UInt8], maximumV2Length: Int = ProxyProtocolDecoder.defaultMaximumV2Length) -> String {
        do {
            let outcome = try parse(bytes, maximumV2Length: maximumV2Length)
            return "parsed \(outcome)"
        } catch {
            return error.message
        }
    }

    private func ip(_ source: String, _ sourcePort: Int, _ destination: String, _ destinationPort: Int) throws -> ProxyProtocolParser.Addresses {
        .ip(source: try SocketAddress(ipAddress: source, port: sourcePort), destination: try SocketAddress(ipAddress: destination, port: destinationPort))
    }

    // MARK: - Version 1

    @Test func v1TCP4() throws {
        let line = Bytes.v1("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n")
        #expect(try parse(line) == .header(try ip("203.0.113.7", 51234, "192.0.2.1", 443), length: line.count))
        // Bytes after the header are not the parser's business.
        #expect(try parse(line + Bytes.clientHelloStart) == .header(try ip("203.0.113.7", 51234, "192.0.2.1", 443), length: line.count))
    }

    @Test func v1TCP6() throws {
        let line = Bytes.v1("PROXY TCP6 2001:db8::7 2001:db8::1 0 65535\r\n")
        #expect(try parse(line) == .header(try ip("2001:db8::7", 0, "2001:db8::1", 65535), length: line.count))
        let mapped = Bytes.v1("PROXY TCP6 ::ffff:203.0.113.7 ::ffff:192.0.2.1 1 2\r\n")
        #expect(try parse(mapped) == .header(try ip("::ffff:203.0.113.7", 1, "::ffff:192.0.2.1", 2), length: mapped.count))
    }

    @Test func v1Unknown() throws {
        for line in ["PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", "PROXY UNKNOWN anything at all\r\n"] {
            #expect(try parse(Bytes.v1(line)) == .header(.connectionEndpoints, length: line.utf8.count), "\(line)")
        }
    }

    /// §2.1's worst case is exactly 107 bytes and must be accepted.
    @Test func v1LongestLineIsAccepted() throws {
        let address = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        let line = Bytes.v1("PROXY TCP6 \(address) \(address) 65535 65535\r\n")
        #expect(line.count == 104)
        #expect(try parse(line) == .header(try ip(address, 65535, address, 65535), length: 104))
        let unknown = Bytes.v1("PROXY UNKNOWN " + String(repeating: "x", count: 91) + "\r\n")
        #expect(unknown.count == 107)
        #expect(try parse(unknown) == .header(.connectionEndpoints, length: 107))
    }

    @Test func v1WaitsForTheLineEnd() throws {
        let line = Bytes.v1("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n")
        for count in 0..<line.count {
            #expect(try parse(Array(line[..<count])) == .needMoreBytes, "\(count) bytes")
        }
        #expect(try parse(Bytes.v1("PROXY UNKNOWN " + String(repeating: "x", count: 92))) == .needMoreBytes)
    }

    @Test(arguments: [
        ("PROXY UNKNOWN " + String(repeating: "x", count: 93), "PROXY v1 header has no CRLF within 107 bytes"),
        ("PROXY UNKNOWN " + String(repeating: "x", count: 92) + "\r\n", "PROXY v1 header has no CRLF within 107 bytes"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "malformed PROXY v1 header: the line does not end in CRLF"),
        ("PROXY \r\n", "malformed PROXY v1 header: protocol \"\" is not TCP4, TCP6 or UNKNOWN"),
        ("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "malformed PROXY v1 header: protocol \"TCP5\" is not TCP4, TCP6 or UNKNOWN"),
        ("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "malformed PROXY v1 header: protocol \"tcp4\" is not TCP4, TCP6 or UNKNOWN"),
        ("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "malformed PROXY v1 header: protocol \"\" is not TCP4, TCP6 or UNKNOWN"),
        (
            "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            "malformed PROXY v1 header: expected PROXY TCP4 <source> <destination> <source port> <destination port> separated by single spaces"
        ),
        (
            "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
            "malformed PROXY v1 header: expected PROXY TCP4 <source> <destination> <source port> <destination port> separated by single spaces"
        ),
        (
            "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
            "malformed PROXY v1 header: expected PROXY TCP4 <source> <destination> <source port> <destination port> separated by single spaces"
        ),
        (
            "PROXY TCP6 ::1 ::2 1\r\n",
            "malformed PROXY v1 header: expected PROXY TCP6 <source> <destination> <source port> <destination port> separated by single spaces"
        ),
        (
            "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
            "malformed PROXY v1 header: expected PROXY TCP4 <source> <destination> <source port> <destination port> separated by single spaces"
        ),
        ("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", "malformed PROXY v1 header: source address \"01.2.3.4\" is not an IPv4 address: octet 01 has a leading zero"),
        (
            "PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n",
            "malformed PROXY v1 header: destination address \"5.6.7.256\" is not an IPv4 address: octet 256 is out of range"
        ),
        ("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "malformed PROXY v1 header: source address \"::1\" is not an IPv4 address: unexpected character ':'"),
        (
            "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
            "malformed PROXY v1 header: source address \"1.2.3.4\" is not an IPv6 address: expected eight groups of hex digits separated by ':', or fewer with one '::'"
        ),
        (
            "PROXY TCP6 ::1 fe80::1%eth0 1 2\r\n",
            "malformed PROXY v1 header: destination address \"fe80::1%eth0\" is not an IPv6 address: a zone index ('%…') is not allowed"
        ),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "malformed PROXY v1 header: source port \"65536\" is not a number 0…65535 without leading zeros"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 099999\r\n", "malformed PROXY v1 header: destination port \"099999\" is not a number 0…65535 without leading zeros"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", "malformed PROXY v1 header: source port \"080\" is not a number 0…65535 without leading zeros"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n", "malformed PROXY v1 header: destination port \"-2\" is not a number 0…65535 without leading zeros"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n", "malformed PROXY v1 header: destination port \"\" is not a number 0…65535 without leading zeros"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", "malformed PROXY v1 header: destination port \"2?\" is not a number 0…65535 without leading zeros"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", "malformed PROXY v1 header: source port \"+1\" is not a number 0…65535 without leading zeros"),
        (
            "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999999999999999999\r\n",
            "malformed PROXY v1 header: destination port \"9999999999999999…\" is not a number 0…65535 without leading zeros"
        ),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\0\r\n", "malformed PROXY v1 header: destination port \"2?\" is not a number 0…65535 without leading zeros"),
        ("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "the connection did not start with a PROXY protocol v1 or v2 header"),
        ("PROXY\r\n", "the connection did not start with a PROXY protocol v1 or v2 header"),
        ("PROXYTCP4", "the connection did not start with a PROXY protocol v1 or v2 header"),
        ("POST / HTTP/1.1\r\n", "the connection did not start with a PROXY protocol v1 or v2 header"),
        ("GET / HTTP/1.1\r\n", "the connection did not start with a PROXY protocol v1 or v2 header"),
    ])
    func v1Refusals(_ line: String, _ expected: String) {
        #expect(error(Bytes.v1(line)) == expected)
    }

    /// A port with a leading zero is refused whichever side it is on (checked before the destination).
    @Test func v1DestinationPortLeadingZero() {
        #expect(
            error(Bytes.v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 0443\r\n"))
                == "malformed PROXY v1 header: destination port \"0443\" is not a number 0…65535 without leading zeros")
    }

    // MARK: - Version 2

    /// The bytes haproxy's `send-proxy-v2` writes for 192.168.0.1:56324 → 192.168.0.11:443, typed from the specification.
    @Test func v2TCP4KnownBytes() throws {
        let header: [UInt8] = [
            0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
            0x21, 0x11, 0x00, 0x0C,
            0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0x0B, 0xDC, 0x04, 0x01, 0xBB,
        ]
        #expect(try parse(header) == .header(try ip("192.168.0.1", 56324, "192.168.0.11", 443), length: 28))
        #expect(try parse(header + Bytes.clientHelloStart) == .header(try ip("192.168.0.1", 56324, "192.168.0.11", 443), length: 28))
    }

    /// Bytes captured from Debian's HAProxy 2.6 (`send-proxy-v2`, `send-proxy`, and its health checks)
    /// in front of a loopback listener, with what the client sent after the header.
    @Test func headersCapturedFromHAProxy() throws {
        func hex(_ text: String) -> [UInt8] {
            stride(from: 0, to: text.count, by: 2).map { UInt8(text.dropFirst($0).prefix(2), radix: 16)! }
        }
        let data = hex("0d0a0d0a000d0a515549540a2111000c7f0000017f000001c6f8480968656c6c6f2d7632")
        #expect(try parse(data) == .header(try ip("127.0.0.1", 50936, "127.0.0.1", 18441), length: 28))
        #expect(Array(data[28...]) == Array("hello-v2".utf8))
        let healthCheck = hex("0d0a0d0a000d0a515549540a20000000")
        #expect(try parse(healthCheck) == .header(.connectionEndpoints, length: 16))
        let v1 = Bytes.v1("PROXY TCP4 127.0.0.1 127.0.0.1 38680 18442\r\nhello-v1")
        #expect(try parse(v1) == .header(try ip("127.0.0.1", 38680, "127.0.0.1", 18442), length: v1.count - 8))
    }

    @Test func v2TCP6() throws {
        let source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [7]
        let destination: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]
        let header = Bytes.v2(family: 2, payload: Bytes.ipv6Block(source, destination, 40000, 8443))
        #expect(header.count == 52)
        #expect(try parse(header) == .header(try ip("2001:db8::7", 40000, "2001:db8::1", 8443), length: 52))
    }

    @Test func v2TLVsAreSkipped() throws {
        let tlvs =
            Bytes.tlv(0x04, [0, 0, 0, 0]) + Bytes.tlv(0x02, Array("preview.example.com".utf8)) + Bytes.tlv(0xEA, [0x01] + Array("vpce-0123456789abcdef".utf8))
        let header = Bytes.v2(family: 1, payload: Bytes.ipv4Block([10, 0, 0, 1], [10, 0, 0, 2], 1, 2) + tlvs)
        #expect(try parse(header + [0x16]) == .header(try ip("10.0.0.1", 1, "10.0.0.2", 2), length: header.count))
        // Padding bytes after the address block (some senders align) are TLV space too.
        let padded = Bytes.v2(family: 1, payload: Bytes.ipv4Block([10, 0, 0, 1], [10, 0, 0, 2], 1, 2) + [0, 0, 0, 0])
        #expect(try parse(padded) == .header(try ip("10.0.0.1", 1, "10.0.0.2", 2), length: padded.count))
    }

    @Test func v2LocalUsesTheConnectionEndpoints() throws {
        let bare = Bytes.v2(command: 0, family: 0, transport: 0, payload: [])
        #expect(bare.count == 16)
        #expect(try parse(bare) == .header(.connectionEndpoints, length: 16))
        // LOCAL ignores whatever address block comes with it, even a truncated one.
        let withBlock = Bytes.v2(command: 0, family: 1, payload: Bytes.ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2))
        #expect(try parse(withBlock) == .header(.connectionEndpoints, length: 28))
        let truncated = Bytes.v2(command: 0, family: 2, payload: [1, 2, 3])
        #expect(try parse(truncated) == .header(.connectionEndpoints, length: 19))
    }

    @Test func v2UnspecifiedFamilyOrTransportUsesTheConnectionEndpoints() throws {
        for (family, transport) in [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0), (3, 0)] as [(UInt8, UInt8)] {
            let header = Bytes.v2(family: family, transport: transport, payload: [9, 9])
            #expect(try parse(header) == .header(.connectionEndpoints, length: 18), "family \(family) transport \(transport)")
        }
    }

    @Test func v2UnixHasNoAddress() throws {
        let block = Array(repeating: UInt8(ascii: "a"), count: 108) + Array(repeating: UInt8(ascii: "b"), count: 108)
        let header = Bytes.v2(family: 3, payload: block)
        #expect(try parse(header) == .header(.none, length: 232))
        #expect(
            error(Bytes.v2(family: 3, payload: Array(block.dropLast()))) == "PROXY v2 header for UNIX stream has 215 bytes of addresses, needs at least 216")
    }

    @Test func v2WaitsForTheWholeHeader() throws {
        let header = Bytes.v2(family: 1, payload: Bytes.ipv4Block([10, 0, 0, 1], [10, 0, 0, 2], 1, 2) + Bytes.tlv(0x04, [0, 0]))
        for count in 0..<header.count {
            #expect(try parse(Array(header[..<count])) == .needMoreBytes, "\(count) bytes")
        }
    }

    static let v2RefusalCases: [([UInt8], String)] = [
        (Bytes.v2(version: 1, family: 1, payload: []), "PROXY v2 header has version 1, expected 2"),
        (Bytes.v2(version: 3, family: 1, payload: []), "PROXY v2 header has version 3, expected 2"),
        (Bytes.v2(version: 0, command: 1, family: 1, payload: []), "PROXY v2 header has version 0, expected 2"),
        (Bytes.v2(command: 2, family: 1, payload: []), "PROXY v2 header has command 2, expected 0 (LOCAL) or 1 (PROXY)"),
        (Bytes.v2(command: 15, family: 1, payload: []), "PROXY v2 header has command 15, expected 0 (LOCAL) or 1 (PROXY)"),
        (Bytes.v2(family: 4, payload: []), "PROXY v2 header has address family 4, expected 0…3"),
        (Bytes.v2(command: 0, family: 15, payload: []), "PROXY v2 header has address family 15, expected 0…3"),
        (Bytes.v2(family: 1, transport: 3, payload: []), "PROXY v2 header has transport protocol 3, expected 0…2"),
        (
            Bytes.v2(family: 1, transport: 2, payload: Bytes.ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)),
            "PROXY v2 header describes a datagram flow, which cannot arrive on a TCP listener"
        ),
        (
            Bytes.v2(family: 2, transport: 2, payload: Array(repeating: 0, count: 36)),
            "PROXY v2 header describes a datagram flow, which cannot arrive on a TCP listener"
        ),
        (Bytes.v2(family: 1, payload: [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0]), "PROXY v2 header for TCP over IPv4 has 11 bytes of addresses, needs at least 12"),
        (
            Bytes.v2(family: 2, payload: Bytes.ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)),
            "PROXY v2 header for TCP over IPv6 has 12 bytes of addresses, needs at least 36"
        ),
        (Bytes.v2(family: 1, payload: []), "PROXY v2 header for TCP over IPv4 has 0 bytes of addresses, needs at least 12"),
        (Bytes.signature + [0x21, 0x11, 0x08, 0x01], "PROXY v2 header announces 2049 bytes of addresses and TLVs, more than the 2048 allowed"),
        (Bytes.signature + [0x21, 0x11, 0xFF, 0xFF], "PROXY v2 header announces 65535 bytes of addresses and TLVs, more than the 2048 allowed"),
        (Array(Bytes.signature.dropLast()) + [0x0B], "the connection did not start with a PROXY protocol v1 or v2 header"),
        ([0x0D, 0x0A, 0x0D, 0x0A, 0x01], "the connection did not start with a PROXY protocol v1 or v2 header"),
        ([0x0D, 0x0A, 0x47, 0x45, 0x54], "the connection did not start with a PROXY protocol v1 or v2 header"),
    ]

    @Test(arguments: v2RefusalCases)
    func v2Refusals(_ bytes: [UInt8], _ expected: String) {
        #expect(error(bytes) == expected)
    }

    @Test func v2MaximumLengthIsConfigurable() throws {
        let header = Bytes.v2(family: 1, payload: Bytes.ipv4Block([10, 0, 0, 1], [10, 0, 0, 2], 1, 2) + Bytes.tlv(0x04, Array(repeating: 0, count: 100)))
        #expect(header.count == 16 + 115)
        #expect(try parse(header, maximumV2Length: 115) == .header(try ip("10.0.0.1", 1, "10.0.0.2", 2), length: 131))
        #expect(error(header, maximumV2Length: 114) == "PROXY v2 header announces 115 bytes of addresses and TLVs, more than the 114 allowed")
        // The length is judged from the fixed part alone: no need to wait for (or hold) the rest.
        #expect(error(Array(header[..<16]), maximumV2Length: 114) == "PROXY v2 header announces 115 bytes of addresses and TLVs, more than the 114 allowed")
    }

    // MARK: - Neither

    /// Anything that cannot start a header is refused on its first byte, so a client that speaks TLS or
    /// HTTP straight to a PROXY listener is turned away at once rather than after the timeout.
    @Test func refusesOtherProtocolsOnTheFirstByte() {
        for first: UInt8 in 0...255 where first != UInt8(ascii: "P") && first != 0x0D {
            #expect(error([first]) == "the connection did not start with a PROXY protocol v1 or v2 header")
        }
        #expect(error(Bytes.clientHelloStart) == "the connection did not start with a PROXY protocol v1 or v2 header")
        #expect(error([UInt8(ascii: "P"), UInt8(ascii: "U")]) == "the connection did not start with a PROXY protocol v1 or v2 header")
        #expect(error([0x0D, 0x0D]) == "the connection did not start with a PROXY protocol v1 or v2 header")
    }

    @Test func emptyInputNeedsMoreBytes() throws {
        #expect(try parse([]) == .needMoreBytes)
        #expect(try parse([UInt8(ascii: "P")]) == .needMoreBytes)
        #expect(try parse([0x0D]) == .needMoreBytes)
    }
}
