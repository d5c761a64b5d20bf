@testable import PortholeDNS
import Testing

@Suite("DNSResponse")
struct DNSResponseTests {
    static let pypi = try! DNSQuery.parse(Packet.pypiQuery)

    // MARK: - Answers

    @Test func readsCompressedAnswer() throws {
        let response = try DNSResponse.parse(Packet.pypiAnswer, answering: Self.pypi)
        #expect(response.id == 0x1234)
        #expect(response.responseCode == .noError)
        #expect(!response.isTruncated)
        #expect(response.cnameTargets.isEmpty)
        #expect(response.chain == [try DNSName("pypi.org")])
        #expect(response.finalName == (try DNSName("pypi.org")))
        #expect(response.addresses.map(\.address) == [[151, 101, 0, 223], [151, 101, 64, 223]])
        #expect(response.addresses.map(\.ttl) == [3600, 3600])
        #expect(response.addresses.allSatisfy { $0.type == .a && !$0.isIPv6 && $0.owner == Self.pypi.name })
        let viaBuffer = try Packet.pypiAnswer.withUnsafeBytes { buffer throws(DNSMessageError) in
            try DNSResponse.parse(buffer, answering: Self.pypi)
        }
        #expect(viaBuffer == response)
    }

    @Test func followsCNAMEChain() throws {
        let query = try DNSQuery.parse(Packet.query("www.example.com"))
        let response = try DNSResponse.parse(Packet.cnameAnswer(), answering: query)
        #expect(response.cnameTargets == [try DNSName("example.net")])
        #expect(response.chain.map(\.description) == ["www.example.com", "example.net"])
        #expect(response.finalName.description == "example.net")
        #expect(
            response.addresses == [
                DNSAddressRecord(owner: try DNSName("example.net"), type: .a, address: [93, 184, 215, 14], ttl: 60)
            ])
        // The resolver's rule: every name of the chain must be allowed.
        #expect(response.isChainAllowed { $0.description.hasSuffix("example.com") || $0.description == "example.net" })
        #expect(!response.isChainAllowed { $0.description.hasSuffix("example.com") })
    }

    @Test func readsAAAA() throws {
        let query = try DNSQuery.parse(Packet.query("ipv6.example", type: 28, edns: true))
        let address: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
        let bytes =
            Packet.header(flags: 0x8180, answers: 2, additional: 1) + Packet.question(Packet.name("ipv6.example"), type: 28)
            + Packet.record(Packet.pointer(12), type: 28, ttl: 30, rdata: address)
            // An A record in an AAAA answer was not asked for and is not taken.
            + Packet.record(Packet.pointer(12), type: 1, ttl: 30, rdata: [192, 0, 2, 1])
            + Packet.opt()
        let response = try DNSResponse.parse(bytes, answering: query)
        #expect(response.addresses.count == 1)
        #expect(response.addresses.first?.address == address)
        #expect(response.addresses.first?.isIPv6 == true)
        #expect(response.addresses.first?.type == .aaaa)
    }

    @Test func takesOnlyRecordsOnTheChainInOrder() throws {
        let query = try DNSQuery.parse(Packet.query("a.example"))
        let bytes =
            Packet.header(flags: 0x8180, answers: 7) + Packet.question(Packet.name("a.example"))
            // An address for the target before the CNAME that reaches it: not (yet) on the chain.
            + Packet.record(Packet.name("b.example"), type: 1, rdata: [10, 0, 0, 1])
            + Packet.record(Packet.name("A.EXAMPLE"), type: 5, rdata: Packet.name("b.example"))
            // Another name entirely, smuggled into the answer.
            + Packet.record(Packet.name("evil.example"), type: 1, rdata: [10, 0, 0, 2])
            // A CNAME off the chain.
            + Packet.record(Packet.name("evil.example"), type: 5, rdata: Packet.name("c.example"))
            // Class CH is not an Internet address, even for the right name and with odd RDATA.
            + Packet.record(Packet.name("b.example"), type: 1, class: 3, rdata: [1, 2, 3, 4, 5])
            + Packet.record(Packet.name("b.example"), type: 1, ttl: 0x8000_0000, rdata: [10, 0, 0, 3])
            + Packet.record(Packet.name("b.Example."), type: 1, ttl: 7, rdata: [10, 0, 0, 4])
        let response = try DNSResponse.parse(bytes, answering: query)
        #expect(response.cnameTargets.map(\.description) == ["b.example"])
        #expect(response.addresses.map(\.address) == [[10, 0, 0, 3], [10, 0, 0, 4]])
        // RFC 2181 §8: a TTL with the top bit set reads as 0.
        #expect(response.addresses.map(\.ttl) == [0, 7])
    }

    @Test func capsTheCNAMEChain() throws {
        func chain(_ length: Int) -> [UInt8] {
            var bytes = Packet.header(flags: 0x8180, answers: UInt16(length + 1)) + Packet.question(Packet.name("n0.example"))
            for index in 0..<length {
                bytes += Packet.record(Packet.name("n\(index).example"), type: 5, rdata: Packet.name("n\(index + 1).example"))
            }
            return bytes + Packet.record(Packet.name("n\(length).example"), type: 1, rdata: [192, 0, 2, 1])
        }
        let query = try DNSQuery.parse(Packet.query("n0.example"))
        let eight = try DNSResponse.parse(chain(8), answering: query)
        #expect(eight.cnameTargets.count == 8)
        #expect(eight.addresses.count == 1)
        #expect(message { try DNSResponse.parse(chain(9), answering: query) } == "the answer's CNAME chain is longer than 8")
        // A loop is a chain that never ends.
        let loop =
            Packet.header(flags: 0x8180, answers: 10) + Packet.question(Packet.name("n0.example"))
            + (0..<10).flatMap { Packet.record(Packet.name("n\($0 % 2).example"), type: 5, rdata: Packet.name("n\(($0 + 1) % 2).example")) }
        #expect(message { try DNSResponse.parse(loop, answering: query) } == "the answer's CNAME chain is longer than 8")
    }

    @Test func matchesQuestionIgnoringCase() throws {
        // DNS 0x20: the upstream echoes the case the resolver sent, which may differ from the client's.
        let query = try DNSQuery.parse(Packet.query("PyPI.org"))
        let answer =
            Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("pypi.ORG"))
            + Packet.record(Packet.pointer(12), type: 1, rdata: [151, 101, 0, 223])
        let response = try DNSResponse.parse(answer, answering: query)
        #expect(response.addresses.count == 1)
        #expect(response.questionName.description == "PyPI.org")
    }

    @Test func errorCodesCarryNoAddresses() throws {
        let query = try DNSQuery.parse(Packet.query("a.example"))
        let nxdomain =
            Packet.header(flags: 0x8183, answers: 1) + Packet.question(Packet.name("a.example"))
            + Packet.record(Packet.pointer(12), type: 1, rdata: [10, 0, 0, 1])
        let response = try DNSResponse.parse(nxdomain, answering: query)
        #expect(response.responseCode == .nameError)
        #expect(response.addresses.isEmpty)

        // The OPT record widens the RCODE: extended 1, header 0 → 16 (BADVERS).
        let extended = Packet.header(flags: 0x8180, additional: 1) + Packet.question(Packet.name("a.example")) + Packet.opt(extendedCode: 1)
        #expect(try DNSResponse.parse(extended, answering: query).responseCode.rawValue == 16)
        #expect(try DNSResponse.parse(extended, answering: query).responseCode.description == "RCODE16")
    }

    @Test func truncatedAnswersAreNotRead() throws {
        let query = try DNSQuery.parse(Packet.query("a.example"))
        // TC set, counts claiming records that were cut off.
        let bytes = Packet.header(flags: 0x8380, answers: 40) + Packet.question(Packet.name("a.example")) + [0xC0]
        let response = try DNSResponse.parse(bytes, answering: query)
        #expect(response.isTruncated)
        #expect(response.addresses.isEmpty)
    }

    @Test func upstreamIDIsChecked() throws {
        let query = try DNSQuery.parse(Packet.query("www.example.com"))
        #expect(try DNSResponse.parse(Packet.cnameAnswer(id: 0xBEEF), answering: query, upstreamID: 0xBEEF).id == 0xBEEF)
        #expect(
            message { try DNSResponse.parse(Packet.cnameAnswer(id: 0xBEEF), answering: query) }
                == "the response has ID 48879, not the query's 4660")
    }

    @Test func pointerChainsAreBounded() throws {
        // A record whose RDATA is `count` pointers, each to the one before it (the first to the
        // question's root byte, offset 14), then a record whose owner points at the last: backwards
        // every time, so only the cap on pointers stops the walk.
        func packet(pointers count: Int) -> [UInt8] {
            let bytes = Packet.header(flags: 0x8180, answers: 2) + Packet.question(Packet.name("a"))
            let rdataStart = bytes.count + 1 + 10  // a root owner, then TYPE, CLASS, TTL, RDLENGTH
            var rdata: [UInt8] = []
            var previous = 14
            for index in 0..<count {
                rdata += Packet.pointer(previous)
                previous = rdataStart + 2 * index
            }
            return bytes + Packet.record([0], type: 99, rdata: rdata) + Packet.record(Packet.pointer(previous), type: 99, rdata: [])
        }
        let query = try DNSQuery.parse(Packet.query("a"))
        #expect(try DNSResponse.parse(packet(pointers: 100), answering: query).addresses.isEmpty)
        #expect(message { try DNSResponse.parse(packet(pointers: 200), answering: query) } == "a name follows too many compression pointers")
    }

    static let label63 = String(repeating: "a", count: 63)

    /// Hostile and malformed upstream answers to `a.example` A (ID 0x1234). Each must fail with its
    /// message, never trap.
    @Test(
        arguments: [
            ([], "the message is 0 bytes long, shorter than the 12-byte header"),
            (Packet.header(flags: 0x8180).prefix(11).map { $0 }, "the message is 11 bytes long, shorter than the 12-byte header"),
            (Packet.header(flags: 0x0100) + Packet.question(Packet.name("a.example")), "the upstream message is a query (QR is clear), not a response"),
            (
                Packet.header(flags: 0x9180) + Packet.question(Packet.name("a.example")),
                "opcode 2 is not supported; only standard queries (opcode 0) are answered"
            ),
            (Packet.header(id: 0x4321, flags: 0x8180) + Packet.question(Packet.name("a.example")), "the response has ID 17185, not the query's 4660"),
            (
                Packet.header(flags: 0x8180, questions: 2) + Packet.question(Packet.name("a.example")) + Packet.question(Packet.name("a.example")),
                "the message has 2 questions; exactly one is supported"
            ),
            (Packet.header(flags: 0x8182, questions: 0), "the message has 0 questions; exactly one is supported"),
            (Packet.header(flags: 0x8180) + Packet.question(Packet.name("b.example")), "the response's question is not the query's"),
            (Packet.header(flags: 0x8180) + Packet.question(Packet.name("a.example"), type: 28), "the response's question is not the query's"),
            (Packet.header(flags: 0x8180) + Packet.question(Packet.name("a.example"), class: 3), "the response's question is not the query's"),
            (Packet.header(flags: 0x8180) + Packet.question(Packet.name("a.example")) + [0], "1 bytes follow the last record"),
            // Counts larger than the packet.
            (
                Packet.header(flags: 0x8180, answers: 65535) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.pointer(12), type: 1, rdata: [1, 2, 3, 4]),
                "the header counts 65535 records, more than the 16 bytes after the question can hold"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1, authority: 65535, additional: 65535) + Packet.question(Packet.name("a.example")),
                "the header counts 131071 records, more than the 0 bytes after the question can hold"
            ),
            (
                Packet.header(flags: 0x8180, answers: 2) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.pointer(12), type: 1, rdata: [1, 2, 3, 4]) + [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 0, 0],
                "the message ends inside the answer section"
            ),
            // RDLENGTH past the end.
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example")) + Packet.pointer(12) + [
                    0, 1, 0, 1, 0, 0, 0, 60, 0, 40, 1, 2, 3, 4,
                ],
                "the message ends inside the answer section"
            ),
            (
                Packet.header(flags: 0x8180, authority: 1) + Packet.question(Packet.name("a.example")) + Packet.pointer(12) + [
                    0, 6, 0, 1, 0, 0, 0, 60, 0xFF, 0xFF, 1, 2, 3, 4,
                ],
                "the message ends inside the authority section"
            ),
            // Wrong RDATA lengths for the types that are read.
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.pointer(12), type: 1, rdata: [1, 2, 3, 4, 5]),
                "a A record has 5 bytes of RDATA"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example")) + Packet.record(Packet.pointer(12), type: 1, rdata: []),
                "a A record has 0 bytes of RDATA"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.pointer(12), type: 28, rdata: [1, 2, 3, 4]),
                "a AAAA record has 4 bytes of RDATA"
            ),
            // An A record for another name is read (and refused) too: the whole message must be well-formed.
            (
                Packet.header(flags: 0x8180, additional: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.name("glue.example"), type: 1, rdata: [1, 2, 3]),
                "a A record has 3 bytes of RDATA"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.pointer(12), type: 5, rdata: Packet.name("b.example") + [0]),
                "a CNAME record has 12 bytes of RDATA"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.pointer(12), type: 5, rdata: [1, 0x62]),
                "the message ends inside the answer section"
            ),
            // Hostile compression.
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.pointer(27), type: 1, rdata: [1, 2, 3, 4]),
                "the compression pointer at offset 27 points to offset 27, not before the name it continues"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record([1, 0x62] + Packet.pointer(27), type: 1, rdata: [1, 2, 3, 4]),
                "the compression pointer at offset 29 points to offset 27, not before the name it continues"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.pointer(40), type: 1, rdata: [1, 2, 3, 4]),
                "the compression pointer at offset 27 points to offset 40, not before the name it continues"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.pointer(500), type: 1, rdata: [1, 2, 3, 4]),
                "the compression pointer at offset 27 points past the end of the message (offset 500)"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.pointer(2), type: 1, rdata: [1, 2, 3, 4]),
                "the compression pointer at offset 27 points into the header (offset 2)"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.pointer(12), type: 5, rdata: Packet.pointer(39)),
                "the compression pointer at offset 39 points to offset 39, not before the name it continues"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record([0x40] + [UInt8](repeating: 0x61, count: 64) + [0], type: 1, rdata: [1, 2, 3, 4]),
                "the label length byte 0x40 at offset 27 is neither a label of at most 63 bytes nor a compression pointer"
            ),
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(Packet.name([label63, label63, label63, label63].joined(separator: ".")), type: 1, rdata: [1, 2, 3, 4]),
                "a name is longer than 255 bytes"
            ),
            // A 254-byte name continued by a pointer to a 3-byte one is too long only once joined.
            (
                Packet.header(flags: 0x8180, answers: 1) + Packet.question(Packet.name("a.example"))
                    + Packet.record(
                        Array(Packet.name([label63, label63, label63, String(label63.prefix(60))].joined(separator: ".")).dropLast()) + Packet.pointer(14),
                        type: 1, rdata: [1, 2, 3, 4]),
                "a name is longer than 255 bytes"
            ),
            (
                Packet.header(flags: 0x8180, additional: 2) + Packet.question(Packet.name("a.example")) + Packet.opt() + Packet.opt(),
                "the message carries more than one OPT record"
            ),
            (
                Packet.header(flags: 0x8180, additional: 1) + Packet.question(Packet.name("a.example")) + Packet.pointer(12) + Array(Packet.opt().dropFirst()),
                "the OPT record's owner name is not the root"
            ),
        ] as [([UInt8], String)])
    func refusesHostileAnswers(_ bytes: [UInt8], _ expected: String) throws {
        let query = try DNSQuery.parse(Packet.query("a.example"))
        #expect(message { try DNSResponse.parse(bytes, answering: query) } == expected)
    }

    // MARK: - Built responses

    @Test(arguments: [Packet.pypiQuery, Packet.query("a.example"), Packet.query("X.Example", type: 28, edns: true)])
    func builtResponsesParseAsAnswersToTheQuery(_ queryBytes: [UInt8]) throws {
        let query = try DNSQuery.parse(queryBytes)
        for (bytes, code) in [
            (DNSResponse.refused(for: query), DNSResponseCode.refused),
            (DNSResponse.serverFailure(for: query), .serverFailure),
        ] {
            let response = try DNSResponse.parse(bytes, answering: query)
            #expect(response.responseCode == code)
            #expect(response.id == query.id)
            #expect(response.addresses.isEmpty)
            #expect(!response.isTruncated)
            #expect(bytes[2] == 0x80 | (query.recursionDesired ? 1 : 0), "QR, opcode 0, AA 0, TC 0, RD copied")
            #expect(bytes[3] == 0x80 | UInt8(code.rawValue), "RA set")
            #expect(bytes[10...11] == (query.edns == nil ? [0, 0] : [0, 1]), "OPT echoed when the query had one")
            // The question is echoed byte for byte, case included.
            #expect(Array(bytes[12..<(12 + query.name.wireFormat.count)]) == query.name.wireFormat)
        }
        let truncated = try DNSResponse.parse(DNSResponse.truncated(for: query), answering: query)
        #expect(truncated.isTruncated)
        #expect(truncated.responseCode == .noError)
    }

    @Test func refusedIsExactBytes() throws {
        let query = try DNSQuery.parse(Packet.pypiQuery)
        #expect(
            DNSResponse.refused(for: query) == Packet.header(flags: 0x8185, additional: 1)
                + Packet.question(Packet.name("pypi.org")) + Packet.opt())
        let plain = try DNSQuery.parse(Packet.header(id: 9, flags: 0) + Packet.question(Packet.name("a.example")))
        #expect(DNSResponse.refused(for: plain) == Packet.header(id: 9, flags: 0x8085) + Packet.question(Packet.name("a.example")))
        let withDO = try DNSQuery.parse(
            Packet.header(flags: 0x0100, additional: 1) + Packet.question(Packet.name("a.example"))
                + Packet.opt(payload: 4096, dnssecOK: true))
        #expect(
            DNSResponse.serverFailure(for: withDO) == Packet.header(flags: 0x8182, additional: 1)
                + Packet.question(Packet.name("a.example")) + Packet.opt(dnssecOK: true))
    }

    @Test func formatErrorIsHeaderOnly() {
        #expect(DNSResponse.formatError(id: 0xABCD) == Packet.header(id: 0xABCD, flags: 0x8081, questions: 0))
    }

    @Test func forwardedResponseGetsTheClientID() throws {
        let query = try DNSQuery.parse(Packet.pypiQuery)
        let upstream = Packet.header(id: 0xBEEF, flags: 0x8180) + Packet.question(Packet.name("pypi.org"))
        let forwarded = DNSResponse.forwarded(upstream, to: query)
        #expect(forwarded == Packet.header(id: 0x1234, flags: 0x8180) + Packet.question(Packet.name("pypi.org")))
        #expect(DNSResponse.forwarded([1], to: query) == [1])
    }
}
