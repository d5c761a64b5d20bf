/// A client's query as the filtering resolver accepts it: one question of class IN, no answer or
/// authority records, and at most one additional record, an EDNS(0) OPT record.
///
/// Parsing is strict on purpose. The resolver decides on ``name`` alone, then sends upstream a query it
/// builds itself (``encodedForUpstream(id:udpPayloadSize:)``), never the client's bytes, so nothing
/// the parser skipped over can reach an upstream server.
public struct DNSQuery: Sendable, Hashable {
    public let id: UInt16
    /// RD (RFC 1035 §4.1.1), copied into every response.
    public let recursionDesired: Bool
    /// CD (RFC 4035 §3.2.2), passed upstream.
    public let checkingDisabled: Bool
    /// The question name, with the case the client sent.
    public let name: DNSName
    public let type: DNSRecordType
    /// The client's OPT record, or nil when it sent none (then its responses are at most 512 bytes).
    public let edns: EDNSRecord?

    /// The only question class answered (RFC 1035 §3.2.4).
    public static let classIN: UInt16 = 1

    public init(
        id: UInt16, name: DNSName, type: DNSRecordType, recursionDesired: Bool = true,
        checkingDisabled: Bool = false, edns: EDNSRecord? = nil
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.recursionDesired = recursionDesired
        self.checkingDisabled = checkingDisabled
        self.edns = edns
    }

    /// The largest UDP response this client accepts: 512 bytes without EDNS (RFC 1035 §4.2.1), else its
    /// advertised payload size, at least 512 (RFC 6891 §6.2.5). A larger answer goes as
    /// ``DNSResponse/truncated(for:)`` so the client asks again over TCP.
    public var maximumUDPResponseSize: Int {
        edns?.effectiveUDPPayloadSize ?? 512
    }

    /// Parses a query as received over UDP, or one message taken out of a TCP stream by
    /// ``DNSTCPFrameDecoder``. The whole buffer must be the message: trailing bytes are an error.
    public static func parse(_ bytes: [UInt8]) throws(DNSMessageError) -> DNSQuery {
        guard bytes.count >= DNSMessageReader.headerLength else { throw .headerTooShort(bytes.count) }
        var reader = DNSMessageReader(bytes)
        let id = try reader.readUInt16()
        let flags = try reader.readUInt16()
        let questions = try reader.readUInt16()
        let answers = try reader.readUInt16()
        let authority = try reader.readUInt16()
        let additional = try reader.readUInt16()

        // RFC 1035 §4.1.1: QR, Opcode(4), AA, TC, RD | RA, Z, AD, CD, RCODE(4).
        guard flags & 0x8000 == 0 else { throw .notAQuery }
        let opcode = UInt8(truncatingIfNeeded: flags >> 11) & 0x0F
        guard opcode == 0 else { throw .unsupportedOpcode(opcode) }
        // RFC 9619: a QUERY has exactly one question (QDCOUNT 1); more was never defined.
        guard questions == 1 else { throw .questionCount(Int(questions)) }
        guard answers == 0, authority == 0 else {
            throw .recordsInQuery(answers: Int(answers), authority: Int(authority))
        }
        guard additional <= 1 else { throw .tooManyAdditionalRecords(Int(additional)) }

        reader.part = "question"
        let name = try reader.readName()
        let type = DNSRecordType(rawValue: try reader.readUInt16())
        let questionClass = try reader.readUInt16()
        guard type != .opt else { throw .optInQuestion }
        guard questionClass == classIN else { throw .unsupportedClass(questionClass) }

        var edns: EDNSRecord? = nil
        if additional == 1 {
            reader.part = "additional record"
            edns = try readOPT(&reader)
        }
        guard reader.isAtEnd else { throw .trailingBytes(reader.remaining) }

        return DNSQuery(
            id: id, name: name, type: type, recursionDesired: flags & 0x0100 != 0,
            checkingDisabled: flags & 0x0010 != 0, edns: edns
        )
    }

    /// For a caller holding a socket or NIO buffer; copies into an array (see ``DNSMessageReader``).
    public static func parse(_ buffer: UnsafeRawBufferPointer) throws(DNSMessageError) -> DNSQuery {
        try parse(Array(buffer))
    }

    /// The query to send upstream, built afresh: a new ID (the resolver's own, random, so an off-path
    /// attacker cannot guess it; RFC 5452 §9.2), RD set, CD copied, the question as asked, and an OPT
    /// record advertising `udpPayloadSize` with the client's DO bit.
    public func encodedForUpstream(id: UInt16, udpPayloadSize: UInt16 = DNSResponse.advertisedUDPPayloadSize) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(DNSMessageReader.headerLength + name.wireFormat.count + 15)
        bytes.appendUInt16(id)
        bytes.appendUInt16(0x0100 | (checkingDisabled ? 0x0010 : 0))
        bytes.appendUInt16(1)
        bytes.appendUInt16(0)
        bytes.appendUInt16(0)
        bytes.appendUInt16(1)
        encodeQuestion(into: &bytes)
        EDNSRecord(udpPayloadSize: udpPayloadSize, dnssecOK: edns?.dnssecOK ?? false).encode(into: &bytes)
        return bytes
    }

    /// QNAME, QTYPE, QCLASS (RFC 1035 §4.1.2), the name with the case the client sent.
    func encodeQuestion(into bytes: inout [UInt8]) {
        name.encode(into: &bytes)
        bytes.appendUInt16(type.rawValue)
        bytes.appendUInt16(Self.classIN)
    }

    /// RFC 6891 §6.1.2: owner the root, TYPE 41, CLASS the UDP payload size, TTL the extended RCODE,
    /// VERSION and flags (DO, then Z), RDATA a sequence of {code, length, value} options.
    private static func readOPT(_ reader: inout DNSMessageReader) throws(DNSMessageError) -> EDNSRecord {
        let owner = try reader.readName()
        let type = DNSRecordType(rawValue: try reader.readUInt16())
        guard type == .opt else { throw .unexpectedAdditionalRecord(type) }
        guard owner.isRoot else { throw .optOwnerNotRoot }
        let payloadSize = try reader.readUInt16()
        let ttl = try reader.readUInt32()
        let version = UInt8(truncatingIfNeeded: ttl >> 16)
        // RFC 6891 §6.1.3: a responder answers BADVERS to a version it does not implement. The resolver
        // answers FORMERR instead, as no stub sends another version today.
        guard version == 0 else { throw .unsupportedEDNSVersion(version) }
        let rdLength = Int(try reader.readUInt16())
        var options = try reader.readBytes(rdLength)
        while !options.isEmpty {
            guard options.count >= 4 else { throw .malformedEDNSOptions }
            let length = Int(options[options.startIndex + 2]) << 8 | Int(options[options.startIndex + 3])
            guard options.count >= 4 + length else { throw .malformedEDNSOptions }
            options = options.dropFirst(4 + length)
        }
        return EDNSRecord(udpPayloadSize: payloadSize, version: version, dnssecOK: ttl & 0x8000 != 0)
    }
}
