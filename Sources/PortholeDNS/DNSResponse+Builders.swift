// MARK: - Responses the resolver writes

extension DNSResponse {
    /// The answer to a name the sandbox may not reach: REFUSED (RFC 1035 §4.1.1), no records. Nothing
    /// was forwarded, so the name never left the host.
    public static func refused(for query: DNSQuery) -> [UInt8] {
        answer(to: query, code: .refused)
    }

    /// The answer when upstream failed or gave an answer the resolver would not pass on.
    public static func serverFailure(for query: DNSQuery) -> [UInt8] {
        answer(to: query, code: .serverFailure)
    }

    /// An empty NOERROR answer with TC set: the real answer is larger than the client's UDP limit
    /// (``DNSQuery/maximumUDPResponseSize``), so it asks again over TCP (RFC 7766 §5, RFC 2181 §9).
    public static func truncated(for query: DNSQuery) -> [UInt8] {
        answer(to: query, code: .noError, truncated: true)
    }

    /// FORMERR for a query that could not be read: the ID and nothing else (no question: the question
    /// may be what is malformed).
    public static func formatError(id: UInt16) -> [UInt8] {
        headerOnly(id: id, code: .formatError)
    }

    /// What to send back for bytes that ``DNSQuery/parse(_:)`` refused with `error`: a header-only
    /// FORMERR or NOTIMP echoing the ID and RD bit, or nil when the message must be dropped
    /// (see ``DNSMessageError/responseCode``).
    public static func reply(toMalformedQuery bytes: [UInt8], error: DNSMessageError) -> [UInt8]? {
        guard let code = error.responseCode, bytes.count >= DNSMessageReader.headerLength,
            bytes[2] & 0x80 == 0
        else { return nil }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        return headerOnly(id: id, code: code, recursionDesired: bytes[2] & 0x01 != 0)
    }

    /// An upstream response passed to the client unchanged but for its ID, which becomes the client's
    /// (the resolver queries upstream under an ID of its own). Parse it with ``parse(_:answering:upstreamID:)``
    /// first: only checked bytes should be passed on.
    public static func forwarded(_ upstream: [UInt8], to query: DNSQuery) -> [UInt8] {
        var bytes = upstream
        guard bytes.count >= 2 else { return bytes }
        bytes[0] = UInt8(truncatingIfNeeded: query.id >> 8)
        bytes[1] = UInt8(truncatingIfNeeded: query.id)
        return bytes
    }

    // MARK: - Private

    /// RFC 1035 §4.1.1 header with QR and RA set (the resolver is a recursive service), the query's ID,
    /// RD and question, and an OPT record when the query had one (RFC 6891 §7: a responder includes an
    /// OPT record in its response to a query that had one; DO copied, RFC 3225 §3).
    private static func answer(to query: DNSQuery, code: DNSResponseCode, truncated: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(DNSMessageReader.headerLength + query.name.wireFormat.count + 15)
        bytes.appendUInt16(query.id)
        bytes.appendUInt16(flags(code: code, recursionDesired: query.recursionDesired, truncated: truncated))
        bytes.appendUInt16(1)
        bytes.appendUInt16(0)
        bytes.appendUInt16(0)
        bytes.appendUInt16(query.edns == nil ? 0 : 1)
        query.encodeQuestion(into: &bytes)
        if let edns = query.edns {
            EDNSRecord(udpPayloadSize: advertisedUDPPayloadSize, dnssecOK: edns.dnssecOK)
                .encode(into: &bytes, extendedResponseCode: UInt8(truncatingIfNeeded: code.rawValue >> 4))
        }
        return bytes
    }

    private static func headerOnly(id: UInt16, code: DNSResponseCode, recursionDesired: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(DNSMessageReader.headerLength)
        bytes.appendUInt16(id)
        bytes.appendUInt16(flags(code: code, recursionDesired: recursionDesired, truncated: false))
        bytes.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])
        return bytes
    }

    /// QR=1, opcode 0, AA=0, TC, RD copied, RA=1, Z/AD/CD=0, the low four bits of the code.
    private static func flags(code: DNSResponseCode, recursionDesired: Bool, truncated: Bool) -> UInt16 {
        0x8000 | (truncated ? 0x0200 : 0) | (recursionDesired ? 0x0100 : 0) | 0x0080 | (code.rawValue & 0x000F)
    }
}
