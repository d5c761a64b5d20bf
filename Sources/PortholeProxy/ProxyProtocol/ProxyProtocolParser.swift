#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import PortholeCore

/// Reads a PROXY protocol v1 or v2 header (haproxy's `proxy-protocol.txt`) from the start of a
/// connection's bytes. Pure: it never consumes, so ``ProxyProtocolDecoder`` can call it again
/// with more bytes until it answers.
enum ProxyProtocolParser {
    /// The answer for the bytes so far.
    enum Outcome: Equatable {
        /// A valid prefix of a header; wait for more.
        case needMoreBytes
        /// A whole header of `length` bytes.
        case header(Addresses, length: Int)
    }

    /// What a header says about the connection's endpoints.
    enum Addresses: Equatable {
        /// Use the connection's own endpoints: v2 `LOCAL`, v1 `UNKNOWN`, v2 `UNSPEC`.
        case connectionEndpoints
        /// A non-IP client (v2 `AF_UNIX`): no address.
        case none
        /// An IPv4 or IPv6 TCP client and the address it connected to.
        case ip(source: SocketAddress, destination: SocketAddress)
    }

    static let v1Prefix: [UInt8] = Array("PROXY ".utf8)
    /// §2.1: "PROXY UNKNOWN" plus two IPv6 addresses and two ports, spaces and CRLF.
    static let v1MaximumLength = 107
    /// §2.2: `\r\n\r\n\0\r\nQUIT\n`, chosen to be invalid as the start of any common protocol.
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// Signature, version/command, family/transport and the 16-bit length.
    static let v2FixedLength = 16

    static func parse(_ buffer: ByteBuffer, maximumV2Length: Int) throws(ProxyProtocolError) -> Outcome {
        let result = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(ProxyProtocolError) -> Outcome in try parse(bytes, maximumV2Length: maximumV2Length) }
        }
        return try result.get()
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer, maximumV2Length: Int) throws(ProxyProtocolError) -> Outcome {
        guard let first = bytes.first else { return .needMoreBytes }
        // Refuse as soon as a byte rules both versions out: a client speaking TLS or HTTP directly is
        // turned away on its first read, not after the header timeout.
        if first == v1Prefix[0] {
            try expectPrefix(v1Prefix, in: bytes)
            return try parseV1(bytes)
        }
        if first == v2Signature[0] {
            try expectPrefix(v2Signature, in: bytes)
            return try parseV2(bytes, maximumLength: maximumV2Length)
        }
        throw .missingHeader
    }

    private static func expectPrefix(_ prefix: [UInt8], in bytes: UnsafeRawBufferPointer) throws(ProxyProtocolError) {
        for index in 0..<min(prefix.count, bytes.count) where bytes[index] != prefix[index] {
            throw .missingHeader
        }
    }

    // MARK: - Version 1

    /// `PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n`, `PROXY TCP6 …`, `PROXY UNKNOWN…\r\n`.
    private static func parseV1(_ bytes: UnsafeRawBufferPointer) throws(ProxyProtocolError) -> Outcome {
        let searched = min(bytes.count, v1MaximumLength)
        guard let lineFeed = (0..<searched).first(where: { bytes[$0] == ASCII.lf }) else {
            if bytes.count >= v1MaximumLength { throw .v1LineTooLong }
            return .needMoreBytes
        }
        guard bytes[lineFeed - 1] == ASCII.cr else { throw .v1Malformed("the line does not end in CRLF") }
        let line = UnsafeRawBufferPointer(rebasing: bytes[..<(lineFeed - 1)])
        let fields = line.split(separator: ASCII.space, omittingEmptySubsequences: false)
        let length = lineFeed + 1
        guard fields.count >= 2 else { throw .v1Malformed("no protocol after PROXY") }

        let family = fields[1]
        if family.elementsEqual("UNKNOWN".utf8) {
            // §2.1: whatever follows UNKNOWN up to the CRLF is ignored.
            return .header(.connectionEndpoints, length: length)
        }
        let isIPv4 = family.elementsEqual("TCP4".utf8)
        guard isIPv4 || family.elementsEqual("TCP6".utf8) else {
            throw .v1Malformed("protocol \(printable(family)) is not TCP4, TCP6 or UNKNOWN")
        }
        guard fields.count == 6 else {
            throw .v1Malformed("expected PROXY \(isIPv4 ? "TCP4" : "TCP6") <source> <destination> <source port> <destination port> separated by single spaces")
        }
        let sourcePort = try port(fields[4], name: "source")
        let destinationPort = try port(fields[5], name: "destination")
        let source: SocketAddress
        let destination: SocketAddress
        if isIPv4 {
            source = try ipv4(fields[2], name: "source", port: sourcePort)
            destination = try ipv4(fields[3], name: "destination", port: destinationPort)
        } else {
            source = try ipv6(fields[2], name: "source", port: sourcePort)
            destination = try ipv6(fields[3], name: "destination", port: destinationPort)
        }
        return .header(.ip(source: source, destination: destination), length: length)
    }

    /// §2.1: the IPv4 form is strict dotted-quad without leading zeros, which is exactly what
    /// `IPv4Address.parse` accepts.
    private static func ipv4(_ text: Slice<UnsafeRawBufferPointer>, name: String, port: UInt16) throws(ProxyProtocolError) -> SocketAddress {
        do {
            let address = try IPv4Address.parse(String(decoding: text, as: UTF8.self))
            return socketAddress(ipv4: address.value.bigEndian, port: port)
        } catch {
            throw .v1Malformed("\(name) address \(printable(text)) is not an IPv4 address: \(error.message)")
        }
    }

    private static func ipv6(_ text: Slice<UnsafeRawBufferPointer>, name: String, port: UInt16) throws(ProxyProtocolError) -> SocketAddress {
        do {
            let address = try IPv6Address.parse(String(decoding: text, as: UTF8.self))
            return address.bytes.withUnsafeBytes { socketAddress(ipv6: $0, port: port) }
        } catch {
            throw .v1Malformed("\(name) address \(printable(text)) is not an IPv6 address: \(error.message)")
        }
    }

    /// §2.1: decimal 0…65535 without leading zeros.
    private static func port(_ text: Slice<UnsafeRawBufferPointer>, name: String) throws(ProxyProtocolError) -> UInt16 {
        let invalid = ProxyProtocolError.v1Malformed("\(name) port \(printable(text)) is not a number 0…65535 without leading zeros")
        guard (1...5).contains(text.count), text.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { throw invalid }
        if text.count > 1, text.first == UInt8(ascii: "0") { throw invalid }
        let value = text.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard let port = UInt16(exactly: value) else { throw invalid }
        return port
    }

    /// At most 16 bytes of what the peer sent, with anything unprintable as `?`, for error messages.
    private static func printable(_ text: Slice<UnsafeRawBufferPointer>) -> String {
        let shown = text.prefix(16).map { $0 >= 0x21 && $0 < 0x7F ? Character(Unicode.Scalar($0)) : "?" }
        return "\"" + String(shown) + (text.count > 16 ? "…" : "") + "\""
    }

    // MARK: - Version 2

    private static func parseV2(_ bytes: UnsafeRawBufferPointer, maximumLength: Int) throws(ProxyProtocolError) -> Outcome {
        guard bytes.count >= v2FixedLength else { return .needMoreBytes }
        // §2.2: receivers must drop connections presenting unexpected values in these two bytes.
        let version = bytes[12] >> 4
        let command = bytes[12] & 0x0F
        guard version == 2 else { throw .v2UnsupportedVersion(version) }
        guard command <= 1 else { throw .v2UnsupportedCommand(command) }
        let family = bytes[13] >> 4
        let transport = bytes[13] & 0x0F
        guard family <= 3 else { throw .v2UnsupportedAddressFamily(family) }
        guard transport <= 2 else { throw .v2UnsupportedTransport(transport) }
        let payloadLength = Int(bytes[14]) << 8 | Int(bytes[15])
        // Checked before waiting, so a peer cannot make us hold 64 KiB by announcing it.
        guard payloadLength <= maximumLength else { throw .v2TooLong(length: payloadLength, maximum: maximumLength) }
        let length = v2FixedLength + payloadLength
        guard bytes.count >= length else { return .needMoreBytes }

        // LOCAL: the balancer speaks for itself (health checks); the address block is skipped whatever it says.
        guard command == 1 else { return .header(.connectionEndpoints, length: length) }
        // UNSPEC family or transport: an unknown protocol; §2.2 lets the receiver use the real endpoints.
        guard family != 0, transport != 0 else { return .header(.connectionEndpoints, length: length) }
        guard transport == 1 else { throw .v2Datagram }

        // Address blocks (§2.2): IPv4 4+4+2+2, IPv6 16+16+2+2, UNIX 108+108. TLVs after them are skipped.
        let block = v2FixedLength
        switch family {
        case 1:
            guard payloadLength >= 12 else { throw .v2AddressBlockTooShort(family: "TCP over IPv4", length: payloadLength, needed: 12) }
            let source = socketAddress(ipv4: bytes.loadUnaligned(fromByteOffset: block, as: UInt32.self), port: port(bytes, at: block + 8))
            let destination = socketAddress(ipv4: bytes.loadUnaligned(fromByteOffset: block + 4, as: UInt32.self), port: port(bytes, at: block + 10))
            return .header(.ip(source: source, destination: destination), length: length)
        case 2:
            guard payloadLength >= 36 else { throw .v2AddressBlockTooShort(family: "TCP over IPv6", length: payloadLength, needed: 36) }
            let source = socketAddress(ipv6: UnsafeRawBufferPointer(rebasing: bytes[block..<(block + 16)]), port: port(bytes, at: block + 32))
            let destination = socketAddress(ipv6: UnsafeRawBufferPointer(rebasing: bytes[(block + 16)..<(block + 32)]), port: port(bytes, at: block + 34))
            return .header(.ip(source: source, destination: destination), length: length)
        default:
            guard payloadLength >= 216 else { throw .v2AddressBlockTooShort(family: "UNIX stream", length: payloadLength, needed: 216) }
            return .header(.none, length: length)
        }
    }

    private static func port(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    // MARK: - Socket addresses

    /// `networkOrder` is the address as it lies in memory in a packet or `sin_addr`.
    private static func socketAddress(ipv4 networkOrder: UInt32, port: UInt16) -> SocketAddress {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = networkOrder
        return SocketAddress(address, host: "")
    }

    private static func socketAddress(ipv6 bytes: UnsafeRawBufferPointer, port: UInt16) -> SocketAddress {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyMemory(from: bytes) }
        return SocketAddress(address, host: "")
    }
}
