import PortholeTestSupport
@testable import PortholeDNS
import Testing

/// Seeded mutation fuzzing of the DNS codec: valid queries and answers, mutated thousands of times per
/// seed. Fixed seeds reproduce by rerunning; one random seed per run widens the search and is printed
/// (and named in every finding), so a failure it finds can be replayed by adding it to `fixedSeeds`.
@Suite struct DNSFuzzTests {
    static let fixedSeeds: [UInt64] = [0xD45_0001, 0xD45_0002, 0xD45_0003]
    static let randomSeed = UInt64.random(in: 0...UInt64.max)
    static let seeds = fixedSeeds + [randomSeed]
    static let iterations = 5_000

    // MARK: - Corpus

    static let queryCorpus: [[UInt8]] = [
        Packet.pypiQuery,
        Packet.query("a.example"),
        Packet.query("Files.PythonHosted.org", type: 28, edns: true),
        Packet.header(flags: 0x0110, additional: 1) + Packet.question(Packet.name("x.y.z.example"), type: 65)
            + Packet.pointer(12 + 14) + Array(Packet.opt(dnssecOK: true, options: [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]).dropFirst()),
    ]

    /// Answers to `www.example.com` A with ID 0x1234.
    static let answerCorpus: [[UInt8]] = {
        let question = Packet.question(Packet.name("www.example.com"))
        let aaaa: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
        return [
            Packet.cnameAnswer(),
            Packet.header(flags: 0x8180, answers: 2, additional: 1) + question
                + Packet.record(Packet.pointer(12), type: 1, rdata: [192, 0, 2, 1])
                + Packet.record(Packet.pointer(12), type: 1, ttl: 5, rdata: [192, 0, 2, 2]) + Packet.opt(),
            // A chain of three by pointers into earlier RDATA, then AAAA glue and an SOA-like authority record.
            Packet.header(flags: 0x8180, answers: 4, authority: 1, additional: 1) + question
                + Packet.record(Packet.pointer(12), type: 5, rdata: [1, 0x62] + Packet.pointer(16))
                + Packet.record([1, 0x62] + Packet.pointer(16), type: 5, rdata: [1, 0x63] + Packet.pointer(16))
                + Packet.record([1, 0x63] + Packet.pointer(16), type: 1, rdata: [198, 51, 100, 7])
                + Packet.record(Packet.pointer(12), type: 28, rdata: aaaa)
                + Packet.record(Packet.pointer(16), type: 6, rdata: Packet.pointer(16) + Packet.pointer(12) + [UInt8](repeating: 0, count: 20))
                + Packet.record(Packet.name("ns.example"), type: 28, rdata: aaaa),
            Packet.header(flags: 0x8183, authority: 1) + question
                + Packet.record(Packet.pointer(16), type: 6, rdata: [0, 0] + [UInt8](repeating: 1, count: 20)),
        ]
    }()

    /// Answers to `www.example.com` AAAA with ID 0x1234.
    static let aaaaAnswerCorpus: [[UInt8]] = {
        let aaaa: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [2]
        return [
            Packet.header(flags: 0x8180, answers: 3, additional: 1) + Packet.question(Packet.name("www.example.com"), type: 28)
                + Packet.record(Packet.pointer(12), type: 5, rdata: [2, 0x76, 0x36] + Packet.pointer(16))
                + Packet.record([2, 0x76, 0x36] + Packet.pointer(16), type: 28, rdata: aaaa)
                + Packet.record([2, 0x76, 0x36] + Packet.pointer(16), type: 28, ttl: 0xFFFF_FFFF, rdata: aaaa)
                + Packet.opt()
        ]
    }()

    /// Bytes that mean something to a DNS parser: pointer and label-type bits, small lengths, counts.
    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x02, 0x04, 0x05, 0x0C, 0x10, 0x1C, 0x29, 0x3F, 0x40, 0x80, 0xC0, 0xC0, 0xFF]

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            if bytes.isEmpty { bytes = [0] }
            let position = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<8, using: &rng) {
            case let kind where kind < ByteMutation.count:
                ByteMutation.apply(kind, to: &bytes, at: position, interesting: interestingBytes, using: &rng)
            case 5:
                // A compression pointer to anywhere in or near the message.
                let target = Int.random(in: 0..<(bytes.count + 8), using: &rng)
                bytes.replaceSubrange(position..<min(bytes.count, position + 2), with: Packet.pointer(target & 0x3FFF))
            case 6:
                // Duplicate a slice: repeated records, labels, or counts that no longer match.
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &rng))
                bytes.insert(contentsOf: Array(bytes[position..<end]), at: end)
            default:
                // Bump a header count (QDCOUNT, ANCOUNT, NSCOUNT or ARCOUNT).
                let field = 4 + 2 * Int.random(in: 0...3, using: &rng)
                if field + 1 < bytes.count { bytes[field + 1] = bytes[field + 1] &+ UInt8.random(in: 1...2, using: &rng) }
            }
        }
        return bytes
    }

    // MARK: - Findings

    struct Findings {
        let seed: UInt64
        var counts: [String: Int] = [:]

        mutating func check(_ condition: Bool, _ invariant: String, _ input: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
            guard !condition else { return }
            counts[invariant, default: 0] += 1
            if counts[invariant]! <= 3 {
                let hex = input.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                Issue.record("seed 0x\(String(seed, radix: 16)): \(invariant): \(hex)", sourceLocation: sourceLocation)
            }
        }

        func report() {
            for (invariant, count) in counts.sorted(by: { $0.key < $1.key }) where count > 3 {
                Issue.record("seed 0x\(String(seed, radix: 16)): \(invariant): \(count) failing inputs in all")
            }
        }
    }

    // MARK: - Queries

    @Test(arguments: seeds)
    func mutatedQueriesKeepTheParserInvariants(_ seed: UInt64) throws {
        if seed == Self.randomSeed { print("DNSFuzzTests random seed: 0x\(String(seed, radix: 16))") }
        var rng = SplitMix64(state: seed)
        var findings = Findings(seed: seed)
        var accepted = 0
        for _ in 0..<Self.iterations {
            let bytes = Self.mutate(Self.queryCorpus.randomElement(using: &rng)!, &rng)
            let query: DNSQuery
            do {
                query = try DNSQuery.parse(bytes)
            } catch {
                // A refused query gets at most a header back, and only if it carried a query's header.
                if let reply = DNSResponse.reply(toMalformedQuery: bytes, error: error) {
                    findings.check(reply.count == 12 && reply.prefix(2) == bytes.prefix(2), "error reply is a header with the ID", bytes)
                } else {
                    findings.check(error.responseCode == nil || bytes.count < 12 || bytes[2] & 0x80 != 0, "reply unless dropped", bytes)
                }
                continue
            }
            accepted += 1
            findings.check(query.name.wireFormat.count <= DNSName.maximumWireLength, "name at most 255 bytes", bytes)
            findings.check(query.name.labels.allSatisfy { (1...63).contains($0.count) }, "labels 1-63 bytes", bytes)
            // Built responses parse back as answers to the query they answer.
            for built in [DNSResponse.refused(for: query), DNSResponse.serverFailure(for: query), DNSResponse.truncated(for: query)] {
                let response = try? DNSResponse.parse(built, answering: query)
                findings.check(response != nil, "built response parses", bytes)
                findings.check(response?.addresses.isEmpty ?? true, "built response has no addresses", bytes)
            }
            findings.check(
                (try? DNSResponse.parse(DNSResponse.refused(for: query), answering: query))?.responseCode == .refused,
                "refused reads back REFUSED", bytes)
            // The rebuilt upstream query carries the same question.
            let upstream = try? DNSQuery.parse(query.encodedForUpstream(id: 0xBEEF))
            findings.check(upstream?.name == query.name && upstream?.type == query.type, "upstream query keeps the question", bytes)
            findings.check(upstream?.name.wireFormat == query.name.wireFormat, "upstream query keeps the case", bytes)
        }
        findings.report()
        #expect(accepted > Self.iterations / 20, "only \(accepted) of \(Self.iterations) mutated queries were accepted")
    }

    // MARK: - Answers

    @Test(arguments: seeds)
    func mutatedAnswersKeepTheParserInvariants(_ seed: UInt64) throws {
        if seed == Self.randomSeed { print("DNSFuzzTests random seed: 0x\(String(seed, radix: 16))") }
        var rng = SplitMix64(state: seed)
        var findings = Findings(seed: seed)
        let corpus = [
            (try DNSQuery.parse(Packet.query("www.example.com")), Self.answerCorpus),
            (try DNSQuery.parse(Packet.query("www.example.com", type: 28)), Self.aaaaAnswerCorpus),
        ]
        var accepted = 0
        var withAddresses = 0
        for _ in 0..<Self.iterations {
            let (query, answers) = corpus.randomElement(using: &rng)!
            let bytes = Self.mutate(answers.randomElement(using: &rng)!, &rng)
            guard let response = try? DNSResponse.parse(bytes, answering: query) else { continue }
            accepted += 1
            if !response.addresses.isEmpty { withAddresses += 1 }
            for record in response.addresses {
                findings.check(record.type == query.type, "address of the asked type", bytes)
                findings.check(record.address.count == (record.type == .a ? 4 : 16), "A is 4 bytes, AAAA 16", bytes)
                findings.check(response.chain.contains(record.owner), "owner on the chain", bytes)
                findings.check(record.ttl <= 0x7FFF_FFFF, "TTL at most 2^31-1", bytes)
            }
            findings.check(response.cnameTargets.count <= DNSResponse.maximumCNAMEChain, "chain capped", bytes)
            findings.check(response.responseCode == .noError || response.addresses.isEmpty, "errors carry no addresses", bytes)
            findings.check(!response.isTruncated || response.addresses.isEmpty, "truncated carries no addresses", bytes)
            findings.check(response.questionName == query.name, "question is the query's", bytes)
            let forwarded = DNSResponse.forwarded(bytes, to: query)
            findings.check((try? DNSResponse.parse(forwarded, answering: query)) == response, "forwarded bytes parse the same", bytes)
        }
        findings.report()
        // Most mutations break a strict parser (an ID, a flag, a name, a count); a share must still parse,
        // or the fuzzer only exercises the header checks.
        #expect(accepted > Self.iterations / 50, "only \(accepted) of \(Self.iterations) mutated answers were accepted")
        #expect(withAddresses > 0, "no mutated answer yielded addresses")
    }

    @Test func corpusParses() throws {
        for bytes in Self.queryCorpus {
            #expect(throws: Never.self) { try DNSQuery.parse(bytes) }
        }
        let a = try DNSQuery.parse(Packet.query("www.example.com"))
        let parsed = try Self.answerCorpus.map { bytes throws(DNSMessageError) in try DNSResponse.parse(bytes, answering: a) }
        #expect(parsed.map(\.addresses.count) == [1, 2, 1, 0])
        #expect(parsed[2].chain.map(\.description) == ["www.example.com", "b.example.com", "c.example.com"])
        #expect(parsed[3].responseCode == .nameError)
        let aaaa = try DNSQuery.parse(Packet.query("www.example.com", type: 28))
        let six = try DNSResponse.parse(Self.aaaaAnswerCorpus[0], answering: aaaa)
        #expect(six.addresses.map(\.ttl) == [300, 0])
        #expect(six.finalName.description == "v6.example.com")
    }

    // MARK: - Arbitrary bytes

    @Test(arguments: seeds)
    func randomBytesNeverTrap(_ seed: UInt64) throws {
        var rng = SplitMix64(state: seed)
        let query = try DNSQuery.parse(Packet.query("www.example.com"))
        for _ in 0..<Self.iterations {
            var bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // A plausible header makes the parsers reach the names and records.
            if bytes.count >= 12, Bool.random(using: &rng) {
                bytes.replaceSubrange(0..<12, with: Packet.header(flags: 0x8180, answers: UInt16.random(in: 0...3, using: &rng)))
            }
            _ = try? DNSQuery.parse(bytes)
            _ = try? DNSResponse.parse(bytes, answering: query)
            var decoder = DNSTCPFrameDecoder()
            decoder.append(bytes)
            while let message = decoder.nextMessage() { _ = try? DNSQuery.parse(message) }
        }
    }
}
