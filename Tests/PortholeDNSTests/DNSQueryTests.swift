@testable import PortholeDNS
import Testing

@Suite("DNSQuery")
struct DNSQueryTests {
    @Test func parsesDigQueryWithEDNSAndCookie() throws {
        let query = try DNSQuery.parse(Packet.pypiQuery)
        #expect(query.id == 0x1234)
        #expect(query.name == (try DNSName("pypi.org")))
        #expect(query.name.description == "pypi.org")
        #expect(query.type == .a)
        #expect(query.recursionDesired)
        #expect(!query.checkingDisabled)
        #expect(query.edns == EDNSRecord(udpPayloadSize: 1232, version: 0, dnssecOK: false))
        #expect(query.maximumUDPResponseSize == 1232)
        #expect(try Packet.pypiQuery.withUnsafeBytes { buffer throws(DNSMessageError) in try DNSQuery.parse(buffer) } == query)
    }

    @Test func parsesPlainQueriesAndFlags() throws {
        let plain = try DNSQuery.parse(Packet.query("Files.PythonHosted.org", type: 28))
        #expect(plain.type == .aaaa)
        #expect(plain.edns == nil)
        #expect(plain.maximumUDPResponseSize == 512)
        #expect(plain.name.description == "Files.PythonHosted.org")

        // RD clear, CD set, DO set, a payload below 512 counts as 512.
        let bytes =
            Packet.header(flags: 0x0010, additional: 1) + Packet.question(Packet.name("x.example"), type: 16)
            + Packet.opt(payload: 100, dnssecOK: true)
        let query = try DNSQuery.parse(bytes)
        #expect(!query.recursionDesired)
        #expect(query.checkingDisabled)
        #expect(query.type.description == "TYPE16")
        #expect(query.edns?.dnssecOK == true)
        #expect(query.maximumUDPResponseSize == 512)

        // Compression in a query is legal when it points backwards into the body: the OPT owner may
        // be a pointer to the question name's root byte (offset 22).
        let pointed =
            Packet.header(flags: 0x0100, additional: 1) + Packet.question(Packet.name("a.example"))
            + Packet.pointer(12 + 10) + Array(Packet.opt().dropFirst())
        #expect(try DNSQuery.parse(pointed).edns != nil)
    }

    static let label63 = String(repeating: "a", count: 63)

    @Test(
        arguments: [
            ([], "the message is 0 bytes long, shorter than the 12-byte header", nil),
            (Array(Packet.pypiQuery.prefix(11)), "the message is 11 bytes long, shorter than the 12-byte header", nil),
            (
                Packet.header(flags: 0x8100) + Packet.question(Packet.name("a.example")),
                "the message is a response (QR is set), not a query", nil
            ),
            (
                Packet.header(flags: 0x1100) + Packet.question(Packet.name("a.example")),
                "opcode 2 is not supported; only standard queries (opcode 0) are answered", DNSResponseCode.notImplemented
            ),
            (
                Packet.header(flags: 0x2800) + Packet.question(Packet.name("a.example")),
                "opcode 5 is not supported; only standard queries (opcode 0) are answered", .notImplemented
            ),
            (
                Packet.header(flags: 0x0100, questions: 2) + Packet.question(Packet.name("a.example")) + Packet.question(Packet.name("b.example")),
                "the message has 2 questions; exactly one is supported", .formatError
            ),
            (Packet.header(flags: 0x0100, questions: 0), "the message has 0 questions; exactly one is supported", .formatError),
            (
                Packet.header(flags: 0x0100, answers: 1) + Packet.question(Packet.name("a.example")),
                "the query carries 1 answer and 0 authority records; a query has none", .formatError
            ),
            (
                Packet.header(flags: 0x0100, authority: 1) + Packet.question(Packet.name("a.example")),
                "the query carries 0 answer and 1 authority records; a query has none", .formatError
            ),
            (
                Packet.header(flags: 0x0100, additional: 2) + Packet.question(Packet.name("a.example")) + Packet.opt() + Packet.opt(),
                "the query carries 2 additional records; at most one, an EDNS OPT record, is accepted", .formatError
            ),
            (
                Packet.header(flags: 0x0100, additional: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.name("key.example"), type: 250, class: 255, ttl: 0, rdata: [1, 2]),
                "the query's additional record is of type TYPE250; only an EDNS OPT record is accepted", .formatError
            ),
            (
                Packet.header(flags: 0x0100, additional: 1) + Packet.question(Packet.name("a.example")) + Packet.name("x") + Array(Packet.opt().dropFirst()),
                "the OPT record's owner name is not the root", .formatError
            ),
            (
                Packet.header(flags: 0x0100, additional: 1) + Packet.question(Packet.name("a.example")) + Packet.opt(version: 1),
                "EDNS version 1 is not supported; only version 0 is", .formatError
            ),
            (
                Packet.header(flags: 0x0100, additional: 1) + Packet.question(Packet.name("a.example")) + Packet.opt(options: [0, 10, 0, 8, 1, 2, 3]),
                "the OPT record's options do not fill its RDATA exactly", .formatError
            ),
            (
                Packet.header(flags: 0x0100, additional: 1) + Packet.question(Packet.name("a.example")) + Packet.opt(options: [0, 10, 0]),
                "the OPT record's options do not fill its RDATA exactly", .formatError
            ),
            (
                Packet.header(flags: 0x0100, additional: 1) + Packet.question(Packet.name("a.example")) + Array(Packet.opt().dropLast(1)),
                "the message ends inside the additional record", .formatError
            ),
            (
                Packet.header(flags: 0x0100, additional: 1) + Packet.question(Packet.name("a.example")),
                "the message ends inside the additional record", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + Packet.question(Packet.name("version.bind"), type: 16, class: 3),
                "class 3 is not supported; only IN (1) is answered", .notImplemented
            ),
            (
                Packet.header(flags: 0x0100) + Packet.question(Packet.name("a.example"), type: 41),
                "the question asks for type OPT, a pseudo-record that cannot be asked for", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + Packet.name("a.example") + [0, 1],
                "the message ends inside the question", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + [7] + Array("example".utf8),
                "the message ends inside the question", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + Packet.question(Packet.name("a.example")) + [0],
                "1 bytes follow the last record", .formatError
            ),
            // Hostile names.
            (
                Packet.header(flags: 0x0100) + Packet.question(Packet.pointer(12)),
                "the compression pointer at offset 12 points to offset 12, not before the name it continues", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + Packet.question([1, 0x61] + Packet.pointer(12)),
                "the compression pointer at offset 14 points to offset 12, not before the name it continues", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + Packet.question(Packet.pointer(16)) + [0],
                "the compression pointer at offset 12 points to offset 16, not before the name it continues", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + Packet.question(Packet.pointer(0x3FFF)),
                "the compression pointer at offset 12 points past the end of the message (offset 16383)", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + Packet.question(Packet.pointer(4)),
                "the compression pointer at offset 12 points into the header (offset 4)", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + [0xC0],
                "the message ends inside the question", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + Packet.question([64] + [UInt8](repeating: 0x61, count: 64) + [0]),
                "the label length byte 0x40 at offset 12 is neither a label of at most 63 bytes nor a compression pointer", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + Packet.question([0x80, 0x61, 0]),
                "the label length byte 0x80 at offset 12 is neither a label of at most 63 bytes nor a compression pointer", .formatError
            ),
            (
                Packet.header(flags: 0x0100) + Packet.question(Packet.name([label63, label63, label63, label63].joined(separator: "."))),
                "a name is longer than 255 bytes", .formatError
            ),
        ] as [([UInt8], String, DNSResponseCode?)])
    func refusesMalformedQueries(_ bytes: [UInt8], _ expected: String, _ code: DNSResponseCode?) throws {
        do {
            let query = try DNSQuery.parse(bytes)
            Issue.record("parsed \(query)")
        } catch {
            #expect(error.message == expected)
            #expect(error.description == expected)
            #expect(error.responseCode == code)
            let reply = DNSResponse.reply(toMalformedQuery: bytes, error: error)
            #expect((reply == nil) == (code == nil))
            if let reply, let code {
                #expect(reply.count == 12)
                #expect(Array(reply.prefix(2)) == Array(bytes.prefix(2)))
                #expect(reply[2] & 0x80 != 0, "QR set")
                #expect(UInt16(reply[3] & 0x0F) == code.rawValue)
                #expect(reply[2] & 0x01 == bytes[2] & 0x01, "RD echoed")
            }
        }
    }

    @Test func upstreamQueryIsRebuiltFromTheQuestion() throws {
        let query = try DNSQuery.parse(Packet.pypiQuery)
        let upstream = query.encodedForUpstream(id: 0xBEEF)
        #expect(upstream == Packet.header(id: 0xBEEF, flags: 0x0100, additional: 1) + Packet.question(Packet.name("pypi.org")) + Packet.opt())
        let again = try DNSQuery.parse(upstream)
        #expect(again.id == 0xBEEF)
        #expect(again.name == query.name)
        #expect(again.type == query.type)
        #expect(again.edns?.udpPayloadSize == DNSResponse.advertisedUDPPayloadSize)

        // The client's case, CD and DO go upstream; the cookie does not.
        let mixed = try DNSQuery.parse(
            Packet.header(flags: 0x0010, additional: 1) + Packet.question(Packet.name("PyPI.org"), type: 28) + Packet.opt(dnssecOK: true)
        )
        let rebuilt = mixed.encodedForUpstream(id: 7, udpPayloadSize: 4096)
        #expect(
            rebuilt == Packet.header(id: 7, flags: 0x0110, additional: 1) + Packet.question(Packet.name("PyPI.org"), type: 28)
                + Packet.opt(payload: 4096, dnssecOK: true))
    }
}
