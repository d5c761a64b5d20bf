/// An upstream server's answer to a query, checked and reduced to what the filtering resolver needs:
/// the response code, the addresses for the question name, and the CNAME chain that led to them.
///
/// ## Whose addresses these are
/// ``addresses`` holds only A/AAAA records (of the question's type) whose owner is the question name
/// or a name reached from it by following the answer's CNAME records in order; everything else in
/// the message (records for other names, out-of-chain CNAMEs, the authority and additional sections)
/// is checked for form and ignored. When the question name is an alias, the addresses are those of
/// the *last* name in the chain, which the owner of the asked name chose and may not be a name the
/// sandbox may reach. So the resolver must check every name in ``chain`` against the allow list
/// (``isChainAllowed(by:)``) before it inserts any address into the firewall; if one is not allowed,
/// it answers REFUSED and inserts nothing, as if the sandbox had asked for that name itself.
public struct DNSResponse: Sendable, Hashable {
    /// The ID as received (the upstream ID, which the resolver replaces with the client's).
    public let id: UInt16
    /// The header RCODE, widened by the OPT record's extended RCODE when there is one.
    public let responseCode: DNSResponseCode
    /// TC (RFC 1035 §4.1.1): the answer did not fit. Its records are not read and ``addresses`` is
    /// empty; ask again over TCP (RFC 7766 §5).
    public let isTruncated: Bool
    /// The question name as the query asked it.
    public let questionName: DNSName
    /// The targets of the CNAME chain from the question name, in order; empty when the name is no alias.
    public let cnameTargets: [DNSName]
    /// The A/AAAA records for the question name or its chain, in message order. Empty unless the
    /// response code is NOERROR and the message is not truncated.
    public let addresses: [DNSAddressRecord]

    /// How many CNAMEs the resolver follows. Recursive servers stop near here too (BIND: 16, Unbound: 11);
    /// a longer chain is an error, answered SERVFAIL, not a silently shortened answer.
    public static let maximumCNAMEChain = 8
    /// RFC 6891 §6.2.5 and DNS Flag Day 2020: a payload that fits an IPv6 packet without fragmenting.
    public static let advertisedUDPPayloadSize: UInt16 = 1232
    /// The smallest resource record: a one-byte (root) owner, TYPE, CLASS, TTL and RDLENGTH.
    static let minimumRecordLength = 11

    /// The question name followed by every CNAME target: every name whose owner decided where the
    /// addresses point.
    public var chain: [DNSName] { [questionName] + cnameTargets }

    /// The name that owns the addresses when the chain was followed to its end.
    public var finalName: DNSName { cnameTargets.last ?? questionName }

    /// True when `allows` is true for every name of ``chain``: the rule for inserting ``addresses``.
    public func isChainAllowed(by allows: (DNSName) throws -> Bool) rethrows -> Bool {
        for name in chain where try !allows(name) { return false }
        return true
    }

    /// Parses and checks `bytes` as the answer to `query`: QR set, opcode QUERY, the ID the query was
    /// sent upstream with (`upstreamID`, else the query's own), and the same single question (name
    /// compared ignoring case, RFC 4343; type; class IN), as RFC 5452 §9.1 asks of a resolver. Every
    /// record of every section is read, so a response that passes is well-formed to its last byte.
    public static func parse(
        _ bytes: [UInt8], answering query: DNSQuery, upstreamID: UInt16? = nil
    ) throws(DNSMessageError) -> DNSResponse {
        guard bytes.count >= DNSMessageReader.headerLength else { throw .headerTooShort(bytes.count) }
        var reader = DNSMessageReader(bytes)
        let id = try reader.readUInt16()
        let flags = try reader.readUInt16()
        let questions = try reader.readUInt16()
        let answers = Int(try reader.readUInt16())
        let authority = Int(try reader.readUInt16())
        let additional = Int(try reader.readUInt16())

        guard flags & 0x8000 != 0 else { throw .notAResponse }
        let opcode = UInt8(truncatingIfNeeded: flags >> 11) & 0x0F
        guard opcode == 0 else { throw .unsupportedOpcode(opcode) }
        let expectedID = upstreamID ?? query.id
        guard id == expectedID else { throw .idMismatch(expected: expectedID, got: id) }
        guard questions == 1 else { throw .questionCount(Int(questions)) }

        reader.part = "question"
        let name = try reader.readName()
        let type = DNSRecordType(rawValue: try reader.readUInt16())
        let questionClass = try reader.readUInt16()
        guard name == query.name, type == query.type, questionClass == DNSQuery.classIN else { throw .questionMismatch }

        let headerCode = flags & 0x000F
        if flags & 0x0200 != 0 {
            // A truncated message may end anywhere, so its counts cannot be trusted (RFC 2181 §9).
            return DNSResponse(
                id: id, responseCode: DNSResponseCode(rawValue: headerCode), isTruncated: true,
                questionName: query.name, cnameTargets: [], addresses: []
            )
        }

        // Refuse impossible counts before reading, so ANCOUNT 65535 in a small packet costs nothing.
        let records = answers + authority + additional
        guard records * minimumRecordLength <= reader.remaining else {
            throw .countsExceedMessage(records: records, bytes: reader.remaining)
        }

        var current = query.name
        var targets: [DNSName] = []
        var addresses: [DNSAddressRecord] = []
        reader.part = "answer section"
        for _ in 0..<answers {
            let record = try readRecord(&reader)
            // Class IN only: a record of another class is not an address on the Internet.
            guard record.recordClass == DNSQuery.classIN, record.owner == current else { continue }
            if record.type == .cname, let target = record.target {
                guard targets.count < maximumCNAMEChain else { throw .cnameChainTooLong(maximumCNAMEChain) }
                targets.append(target)
                current = target
            } else if record.type == query.type, let address = record.address {
                addresses.append(DNSAddressRecord(owner: record.owner, type: record.type, address: address, ttl: record.ttl))
            }
        }
        reader.part = "authority section"
        for _ in 0..<authority {
            _ = try readRecord(&reader)
        }
        reader.part = "additional section"
        var extendedCode: UInt16? = nil
        for _ in 0..<additional {
            let record = try readRecord(&reader)
            guard record.type == .opt else { continue }
            // RFC 6891 §6.1.1: more than one OPT record makes the message malformed.
            guard extendedCode == nil else { throw .duplicateOPT }
            guard record.owner.isRoot else { throw .optOwnerNotRoot }
            extendedCode = UInt16(record.rawTTL >> 24)
        }
        guard reader.isAtEnd else { throw .trailingBytes(reader.remaining) }

        let code = DNSResponseCode(rawValue: (extendedCode ?? 0) << 4 | headerCode)
        return DNSResponse(
            id: id, responseCode: code, isTruncated: false, questionName: query.name, cnameTargets: targets,
            addresses: code == .noError ? addresses : []
        )
    }

    /// For a caller holding a socket or NIO buffer; copies into an array (see ``DNSMessageReader``).
    public static func parse(
        _ buffer: UnsafeRawBufferPointer, answering query: DNSQuery, upstreamID: UInt16? = nil
    ) throws(DNSMessageError) -> DNSResponse {
        try parse(Array(buffer), answering: query, upstreamID: upstreamID)
    }

    private init(
        id: UInt16, responseCode: DNSResponseCode, isTruncated: Bool, questionName: DNSName,
        cnameTargets: [DNSName], addresses: [DNSAddressRecord]
    ) {
        self.id = id
        self.responseCode = responseCode
        self.isTruncated = isTruncated
        self.questionName = questionName
        self.cnameTargets = cnameTargets
        self.addresses = addresses
    }

    // MARK: - Records

    /// One resource record (RFC 1035 §4.1.3), with RDATA decoded for the types the resolver uses.
    private struct Record {
        var owner: DNSName
        var type: DNSRecordType
        var recordClass: UInt16
        var rawTTL: UInt32
        /// For A and AAAA.
        var address: [UInt8]?
        /// For CNAME.
        var target: DNSName?

        /// RFC 2181 §8: a TTL with the top bit set is treated as zero.
        var ttl: UInt32 { rawTTL & 0x8000_0000 == 0 ? rawTTL : 0 }
    }

    /// Reads a record, checking that RDATA lies within the message and, for A, AAAA and CNAME in
    /// class IN, that it has the form RFC 1035 §3.3.1 / §3.4.1 and RFC 3596 §2.2 give it.
    private static func readRecord(_ reader: inout DNSMessageReader) throws(DNSMessageError) -> Record {
        let owner = try reader.readName()
        let type = DNSRecordType(rawValue: try reader.readUInt16())
        let recordClass = try reader.readUInt16()
        let ttl = try reader.readUInt32()
        let rdLength = Int(try reader.readUInt16())
        let rdataStart = reader.offset
        guard reader.remaining >= rdLength else { throw .truncated(reader.part) }
        var record = Record(owner: owner, type: type, recordClass: recordClass, rawTTL: ttl)
        guard recordClass == DNSQuery.classIN else {
            _ = try reader.readBytes(rdLength)
            return record
        }
        if let length = type.addressLength {
            guard rdLength == length else { throw .badRDLength(type, rdLength) }
            record.address = Array(try reader.readBytes(rdLength))
        } else if type == .cname {
            // RFC 3597 §4: CNAME RDATA may be compressed; the name must end exactly where RDATA does.
            let target = try reader.readName()
            guard reader.offset == rdataStart + rdLength else { throw .badRDLength(type, rdLength) }
            record.target = target
        } else {
            _ = try reader.readBytes(rdLength)
        }
        return record
    }
}
