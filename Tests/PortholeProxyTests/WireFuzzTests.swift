import PortholeTestSupport
@_spi(Benchmarks) @testable import PortholeProxy
import Testing

/// Deterministic mutation fuzzing of the wire layer. Seeds are fixed, so a failure reproduces by
/// rerunning; each finding is reported with the input that caused it.
@Suite struct WireFuzzTests {
    // MARK: - Corpus

    static let requestCorpus: [String] = [
        wireHead("GET / HTTP/1.1", "Host: 3000-abc.preview.example"),
        wireHead("GET /a/b?c=d HTTP/1.1", "Host: h", "Accept: text/html", "Sec-Fetch-Mode: navigate", "Cookie: a=1; porthole_session=s; b=2"),
        wireHead("POST /submit HTTP/1.1", "Host: h", "Content-Length: 11", "Content-Type: text/plain", "Expect: 100-continue"),
        wireHead("POST /upload HTTP/1.1", "Host: h", "Transfer-Encoding: gzip, chunked", "TE: trailers", "Connection: TE, close"),
        wireHead("GET /ws HTTP/1.1", "Host: h", "Connection: keep-alive, Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13"),
        wireHead("OPTIONS * HTTP/1.1", "Host: h", "Access-Control-Request-Method: PUT", "Origin: https://x.example"),
        wireHead("GET http://h:8080/abs HTTP/1.1", "Host: h:8080", "X-Forwarded-For: 1.2.3.4", "X-Forwarded-For: 5.6.7.8", "X-Forwarded-Proto: ftp"),
        wireHead("GET /old HTTP/1.0", "Connection: keep-alive", "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive"),
        wireHead("PUT /x HTTP/1.0", "Host: h", "Content-Length: 3", "X-Preview-Token: t", "X-Daytona-Preview-Token: u"),
        wireHead("DELETE /y HTTP/1.1", "Host: h", "Connection: X-A", "X-A: 1", "X-B:", "X-C: \t spaced \t"),
        wireHead("GET / HTTP/1.1", "Host:h", "Cookie:porthole_session=1;a=b", "Cookie:x=1;porthole_session=2", "X-Forwarded-For:a"),
    ]

    /// Whole field lines the fuzzer splices in, so framing and hop-by-hop fields meet in new combinations.
    static let fieldLines: [String] = [
        "Transfer-Encoding: chunked", "Content-Length: 0", "Content-Length: 7", "Host: other", "Connection: upgrade",
        "Upgrade: h2c", "Connection: X-A", "X-A: 2", "Cookie: porthole_session=x", "X-Forwarded-For: 9.9.9.9",
        "Expect: 100-continue", "TE: trailers", "Connection: close", "Keep-Alive: max=1",
        "Connection: Content-Length", "Connection: transfer-encoding",
    ]

    static let responseCorpus: [String] = [
        wireHead("HTTP/1.1 200 OK", "Content-Type: text/html", "Content-Length: 12"),
        wireHead("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Connection: keep-alive, X-Internal", "X-Internal: 1"),
        wireHead("HTTP/1.1 204 No Content", "Keep-Alive: timeout=5"),
        wireHead("HTTP/1.1 304 Not Modified", "ETag: \"abc\"", "Content-Length: 99"),
        wireHead("HTTP/1.0 200 OK", "Connection: keep-alive", "Content-Length: 3"),
        wireHead("HTTP/1.1 101 Switching Protocols", "Connection: Upgrade", "Upgrade: websocket"),
        wireHead("HTTP/1.1 500 Internal Server Error", "Content-Type: text/plain"),
    ]

    /// Bytes that mean something to an HTTP/1 parser.
    static let interestingBytes: [UInt8] = [
        0x0D, 0x0A, 0x20, 0x09, 0x00, 0x3A, 0x2C, 0x3B, 0x3D, 0x22, 0x30, 0x61, 0x46, 0x7F, 0x80, 0xFF, 0x0B, 0x2D,
    ]

    // MARK: - Mutation

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            if bytes.isEmpty { bytes = [0x0D, 0x0A] }
            let position = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<9, using: &rng) {
            case let kind where kind < ByteMutation.count:
                ByteMutation.apply(kind, to: &bytes, at: position, interesting: interestingBytes, using: &rng)
            case 5:
                // Duplicate the line `position` falls in (CRLF included).
                let lines = lineRanges(bytes)
                if let line = lines.first(where: { $0.contains(position) }) {
                    bytes.insert(contentsOf: Array(bytes[line]), at: line.upperBound)
                }
            case 6:
                if (bytes[position] | 0x20) >= 0x61 && (bytes[position] | 0x20) <= 0x7A { bytes[position] ^= 0x20 }
            case 7:
                // Splice a whole field line in at a line start.
                let starts = [0] + lineRanges(bytes).map(\.upperBound)
                let start = starts.randomElement(using: &rng)!
                bytes.insert(contentsOf: Array((fieldLines.randomElement(using: &rng)! + "\r\n").utf8), at: start)
            default:
                // Insert a CRLF, making a line break where there was none.
                bytes.insert(contentsOf: [0x0D, 0x0A], at: position)
            }
        }
        return bytes
    }

    /// Ranges of the CRLF-terminated lines in `bytes`, each including its CRLF.
    static func lineRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == 0x0D && bytes[index + 1] == 0x0A {
                ranges.append(start..<index + 2)
                start = index + 2
                index += 2
            } else {
                index += 1
            }
        }
        return ranges
    }

    /// Collects findings so one broken invariant reports a few examples, not thousands.
    struct Findings {
        var counts: [String: Int] = [:]

        mutating func check(_ condition: Bool, _ invariant: String, _ input: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
            guard !condition else { return }
            counts[invariant, default: 0] += 1
            if counts[invariant]! <= 3 {
                Issue.record("\(invariant): \(String(decoding: input, as: UTF8.self).debugDescription)", sourceLocation: sourceLocation)
            }
        }

        func report() {
            for (invariant, count) in counts.sorted(by: { $0.key < $1.key }) where count > 3 {
                Issue.record("\(invariant): \(count) failing inputs in all")
            }
        }
    }

    // MARK: - Request heads

    @Test(arguments: [0x5EED_0001, 0x5EED_0002, 0x5EED_0003, 0x5EED_0004] as [UInt64])
    func mutatedRequestHeadsKeepTheParserInvariants(_ seed: UInt64) {
        var rng = SplitMix64(state: seed)
        var findings = Findings()
        var accepted = 0
        let iterations = 20_000
        for _ in 0..<iterations {
            var bytes = Self.mutate(Array(Self.requestCorpus.randomElement(using: &rng)!.utf8), &rng)
            let plainEnd = Wire.firstCRLFCRLF(bytes)
            switch Wire.headEnd(bytes) {
            case .incomplete:
                findings.check(plainEnd == nil, "headEnd finds every CRLFCRLF", bytes)
                continue
            case .bareLineFeed:
                // The bare LF lies before the first CRLFCRLF; the parser must refuse it on its own too.
                if let plainEnd {
                    let alone = Wire.parseRequest(Array(bytes[..<plainEnd]))
                    findings.check((try? alone.get()) == nil, "parser alone refuses a bare LF", bytes)
                }
                continue
            case .complete(let end):
                findings.check(end == plainEnd, "headEnd stops at the first CRLFCRLF", bytes)
                // Parse exactly the head, so any read past `end` traps instead of reading the next request.
                bytes = Array(bytes[..<end])
            }
            guard case .success(let parsed) = Wire.parseRequest(bytes) else { continue }
            accepted += 1
            Self.checkRequestInvariants(parsed, &findings)
        }
        findings.report()
        // The corpus is mostly valid and most mutations are small: a healthy share must still parse,
        // or the fuzzer is only exercising the first byte checks.
        #expect(accepted > iterations / 10, "only \(accepted) of \(iterations) mutated heads were accepted")
    }

    static func checkRequestInvariants(_ parsed: ParsedRequest, _ findings: inout Findings) {
        let head = parsed.head
        let bytes = parsed.bytes
        let end = bytes.count
        findings.check(head.method.lowerBound == 0 && !head.method.isEmpty, "method starts the head", bytes)
        findings.check(head.target.lowerBound == head.method.upperBound + 1 && !head.target.isEmpty, "target follows method", bytes)
        // SP, 8 version bytes and CRLF end the request line.
        var lineStart = head.target.upperBound + 11
        findings.check(lineStart <= end - 2, "request line within head", bytes)
        findings.check(bytes[head.method].allSatisfy(ASCII.isToken), "method is a token", bytes)
        findings.check(bytes[head.target].allSatisfy(ASCII.isTarget), "target is visible ASCII", bytes)
        for field in head.fields {
            findings.check(field.name.lowerBound == lineStart, "field starts its line", bytes)
            findings.check(!field.name.isEmpty && field.name.upperBound < field.value.lowerBound, "name before value", bytes)
            findings.check(field.value.upperBound <= end - 4, "value within head", bytes)
            guard field.name.upperBound < field.value.lowerBound, field.value.upperBound <= end - 4 else { return }
            findings.check(bytes[field.name].allSatisfy(ASCII.isToken), "name is a token", bytes)
            findings.check(bytes[field.name.upperBound] == UInt8(ascii: ":"), "colon ends the name", bytes)
            findings.check(bytes[field.value].allSatisfy(ASCII.isFieldValue), "value has no controls", bytes)
            let edges = [bytes[field.value].first, bytes[field.value].last].compactMap { $0 }
            findings.check(edges.allSatisfy { $0 != 0x20 && $0 != 0x09 }, "value trimmed", bytes)
            // Only OWS between the value and the line's CRLF.
            var crlf = field.value.upperBound
            while crlf < end && (bytes[crlf] == 0x20 || bytes[crlf] == 0x09) { crlf += 1 }
            findings.check(crlf + 1 < end && bytes[crlf] == 0x0D && bytes[crlf + 1] == 0x0A, "value ends at CRLF", bytes)
            lineStart = crlf + 2
            let kind =
                bytes[field.name].contains(UInt8(ascii: "_"))
                ? .underscored : bytes.withUnsafeBytes { HeaderField.classify($0, field.name) }
            findings.check(kind == field.kind, "kind matches name", bytes)
        }
        findings.check(lineStart == end - 2, "fields end at the empty line", bytes)

        let hosts = head.fields.indices.filter { head.fields[$0].kind == .host }
        findings.check(hosts.count <= 1 && head.hostField == hosts.first, "host field is the only Host", bytes)
        findings.check(head.version == .http10 || head.hostField != nil, "HTTP/1.1 has a Host", bytes)
        let lengths = head.fields.filter { $0.kind == .contentLength }
        let codings = head.fields.filter { $0.kind == .transferEncoding }
        findings.check(lengths.isEmpty || codings.isEmpty, "never both Content-Length and Transfer-Encoding", bytes)
        findings.check(codings.count <= 1, "at most one Transfer-Encoding", bytes)
        findings.check((head.framing == .chunked) == !codings.isEmpty, "chunked exactly when Transfer-Encoding", bytes)
        findings.check(head.framing != .chunked || head.version == .http11, "chunked only in HTTP/1.1", bytes)
        findings.check(head.framing != .untilClose, "requests never run until close", bytes)
        if case .contentLength(let length) = head.framing {
            findings.check(length > 0 && !lengths.isEmpty, "a length framing has its field", bytes)
        }
        findings.check(!head.isUpgrade || head.version == .http11, "upgrades are HTTP/1.1", bytes)

        // The forwarded head fits the room reserved for it under every rewrite (past it the writer traps).
        for rewrite in [ForwardingRewrite.example, .growing] {
            let written = Wire.forward(parsed, rewrite: rewrite)
            let room = RequestHeadWriter.maximumBytes(for: head, headBytes: end, rewrite: rewrite)
            findings.check(written.count <= room, "forwarded head within its reserved room", bytes)
        }

        // Forwarding keeps the meaning the proxy acted on.
        let forwarded = Wire.forward(parsed)
        switch Wire.parseRequest(forwarded) {
        case .success(let reparsed):
            findings.check(reparsed.bytes.count == forwarded.count, "forwarded head is one head", bytes)
            findings.check(reparsed.head.framing == head.framing, "forwarding keeps framing", bytes)
            findings.check(reparsed.head.version == head.version, "forwarding keeps version", bytes)
            findings.check(reparsed.method == parsed.method && reparsed.target == parsed.target, "forwarding keeps request line", bytes)
            findings.check(!reparsed.head.fields.contains { $0.kind == .previewToken }, "forwarding drops tokens", bytes)
        case .failure:
            findings.check(false, "forwarded head parses", bytes)
        }
    }

    // MARK: - Response heads

    @Test(arguments: [0x5EED_0011, 0x5EED_0012] as [UInt64])
    func mutatedResponseHeadsKeepTheParserInvariants(_ seed: UInt64) {
        var rng = SplitMix64(state: seed)
        var findings = Findings()
        var accepted = 0
        let iterations = 15_000
        for _ in 0..<iterations {
            var bytes = Self.mutate(Array(Self.responseCorpus.randomElement(using: &rng)!.utf8), &rng)
            guard case .complete(let end) = Wire.headEnd(bytes) else { continue }
            bytes = Array(bytes[..<end])
            let wasHEAD = Bool.random(using: &rng)
            guard case .success(let parsed) = Wire.parseResponse(bytes, requestWasHEAD: wasHEAD) else { continue }
            accepted += 1
            let head = parsed.head
            findings.check((100...999).contains(head.status), "status has three digits", bytes)
            findings.check(head.statusLineEnd >= 14 && head.statusLineEnd <= end - 2, "status line within head", bytes)
            for field in head.fields {
                findings.check(field.name.lowerBound >= head.statusLineEnd && field.value.upperBound <= end - 4, "field within head", bytes)
            }
            let lengths = head.fields.filter { $0.kind == .contentLength }
            let codings = head.fields.filter { $0.kind == .transferEncoding }
            findings.check(lengths.isEmpty || codings.isEmpty, "never both Content-Length and Transfer-Encoding", bytes)
            findings.check(head.framing != .untilClose || head.upstreamCloses, "until-close means the upstream closes", bytes)
            if wasHEAD || head.status < 200 || head.status == 204 || head.status == 304 {
                findings.check(head.framing == .none, "no body where none is allowed", bytes)
            }
            let rewritten = Wire.rewriteResponse(parsed, closingClient: true)
            switch Wire.parseResponse(rewritten, requestWasHEAD: wasHEAD) {
            case .success(let reparsed):
                findings.check(reparsed.head.framing == head.framing, "rewriting keeps framing", bytes)
                findings.check(reparsed.head.upstreamCloses, "rewritten head says close", bytes)
                findings.check(rewritten.starts(with: Array("HTTP/1.1 ".utf8)), "the proxy answers in its own HTTP/1.1", bytes)
                findings.check(reparsed.head.fields.allSatisfy { $0.kind != .keepAlive && $0.kind != .proxyConnection }, "rewriting drops hop-by-hop", bytes)
            case .failure:
                findings.check(false, "rewritten head parses", bytes)
            }
        }
        findings.report()
        // Without this, mutations that no longer parse would let the test pass having checked nothing.
        #expect(accepted > iterations / 10, "only \(accepted) of \(iterations) mutated heads were accepted")
    }

    // MARK: - Chunked bodies

    /// A valid chunked body: random chunks with random-case, zero-padded hex sizes, extensions and trailers.
    static func chunkedBody(_ rng: inout SplitMix64) -> [UInt8] {
        var body: [UInt8] = []
        func sizeLine(_ size: Int) -> [UInt8] {
            var hex = String(size, radix: 16, uppercase: Bool.random(using: &rng))
            hex = String(repeating: "0", count: Int.random(in: 0...2, using: &rng)) + hex
            let extensions = ["", "", ";a", ";a=b", " ;name=\"v; x\"", "\t;x=1;y"]
            return Array((hex + extensions.randomElement(using: &rng)! + "\r\n").utf8)
        }
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            let size = Int.random(in: 1...40, using: &rng)
            body += sizeLine(size)
            body += (0..<size).map { _ in [0x0D, 0x0A, 0x30, 0x41, 0x00, 0xFF].randomElement(using: &rng)! }
            body += [0x0D, 0x0A]
        }
        body += sizeLine(0)
        for _ in 0..<Int.random(in: 0...2, using: &rng) {
            body += Array("X-Trailer-\(Int.random(in: 0...9, using: &rng)): v\r\n".utf8)
        }
        return body + [0x0D, 0x0A]
    }

    @Test(arguments: [0x5EED_0021, 0x5EED_0022, 0x5EED_0023] as [UInt64])
    func chunkedScanIsTheSameHoweverTheBytesAreCut(_ seed: UInt64) {
        var rng = SplitMix64(state: seed)
        var findings = Findings()
        for iteration in 0..<20_000 {
            let valid = Self.chunkedBody(&rng)
            let pipelined = valid + Array("GET /next HTTP/1.1\r\n\r\n".utf8)
            let mutated = iteration % 3 != 0
            let bytes = mutated ? Self.mutate(pipelined, &rng) : pipelined
            let whole = ChunkedScan.whole(bytes)
            if !mutated {
                findings.check(whole == .complete(consumed: valid.count), "valid body ends where it ends", bytes)
            }
            if case .complete(let consumed) = whole {
                findings.check(consumed > 0 && consumed <= bytes.count, "consumed within input", bytes)
                // The consumed prefix alone is a complete body as well.
                findings.check(ChunkedScan.whole(Array(bytes[..<consumed])) == whole, "prefix is the body", bytes)
            }
            var cuts = (0..<Int.random(in: 1...3, using: &rng)).map { _ in Int.random(in: 0...bytes.count, using: &rng) }
            cuts.sort()
            findings.check(ChunkedScan.scan(bytes, cuts: cuts) == whole, "split scan equals whole scan", bytes)
            if iteration % 8 == 0 {
                findings.check(ChunkedScan.byteByByte(bytes) == whole, "byte-by-byte scan equals whole scan", bytes)
            }
        }
        findings.report()
    }
}
