@_spi(Benchmarks) @testable import PortholeProxy
import Testing

/// Where a chunked body ends (RFC 9112 §7.1), however the bytes are cut into reads.
@Suite struct ChunkedBodyScannerTests {
    static let validBodies: [String] = [
        "0\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
        "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
        "A\r\n0123456789\r\n0\r\n\r\n",
        "a\r\n0123456789\r\n0\r\n\r\n",
        "00a\r\n0123456789\r\n000\r\n\r\n",
        "1e\r\n0123456789abcdef0123456789abcd\r\n0\r\n\r\n",
        "1E\r\n0123456789abcdef0123456789abcd\r\n0\r\n\r\n",
        "5;ext\r\nhello\r\n0\r\n\r\n",
        "5;name=value;other=\"quoted; \\\"value\\\"\"\r\nhello\r\n0;last\r\n\r\n",
        "5 ;ext\r\nhello\r\n0\r\n\r\n",  // BWS before `;` (RFC 9112 §7.1.1)
        "5\t;ext\r\nhello\r\n0\r\n\r\n",
        "5;ext=ü\r\nhello\r\n0\r\n\r\n",  // obs-text in an extension value
        // Chunk data is skipped, never scanned: framing-like bytes inside it mean nothing.
        "5\r\n0\r\n\r\n\r\n0\r\n\r\n",
        "7\r\n\r\n\n\r\r\n\n\r\n0\r\n\r\n",
        "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
        "5\r\nhello\r\n0\r\nX-Trailer: 1\r\nChecksum:abc\r\nY:\r\n\r\n",
        "0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n",
        "00000000000000a\r\n0123456789\r\n0\r\n\r\n",  // 15 digits: the most accepted
        "fff\r\n" + String(repeating: "x", count: 0xfff) + "\r\n0\r\n\r\n",
    ]

    @Test(arguments: validBodies)
    func findsTheEndOfAValidBodyHoweverItIsRead(_ body: String) {
        let bytes = Array(body.utf8)
        let expected = ScanOutcome.complete(consumed: bytes.count)
        #expect(ChunkedScan.whole(bytes) == expected)
        #expect(ChunkedScan.byteByByte(bytes) == expected)
        for cut in 0...bytes.count {
            #expect(ChunkedScan.scan(bytes, cuts: [cut]) == expected, "cut at \(cut)")
        }
    }

    @Test(arguments: validBodies)
    func leavesAPipelinedRequestAfterTheBody(_ body: String) {
        let bytes = Array(body.utf8)
        let next = Array("GET /next HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        let stream = bytes + next
        #expect(ChunkedScan.whole(stream) == .complete(consumed: bytes.count))
        #expect(ChunkedScan.byteByByte(stream) == .complete(consumed: bytes.count))
        // The consumed count cuts exactly where the next head starts.
        #expect(Array(stream[bytes.count...]) == next)
    }

    @Test func returnsNothingOnceComplete() throws {
        var scanner = ChunkedBodyScanner()
        let body = Array("0\r\n\r\nGET".utf8)
        #expect(try body.withUnsafeBytes { try scanner.scan($0) } == 5)
        #expect(scanner.isComplete)
        #expect(try body.withUnsafeBytes { try scanner.scan($0) } == 0)
        #expect(try [UInt8]().withUnsafeBytes { try scanner.scan($0) } == 0)
    }

    @Test func anOpenBodyTakesEveryByteItIsShown() throws {
        var scanner = ChunkedBodyScanner()
        let part = Array("5\r\nhel".utf8)
        #expect(try part.withUnsafeBytes { try scanner.scan($0) } == part.count)
        #expect(!scanner.isComplete)
        #expect(try [UInt8]().withUnsafeBytes { try scanner.scan($0) } == 0)
        let rest = Array("lo\r\n0\r\n\r\n".utf8)
        #expect(try rest.withUnsafeBytes { try scanner.scan($0) } == rest.count)
        #expect(scanner.isComplete)
    }

    @Test func acceptsTheLargestSizeWithoutOverflowing() {
        // 15 hex digits is 2^60 - 1 bytes: framing is fine, the body just has not arrived.
        #expect(ChunkedScan.whole("fffffffffffffff\r\nabc") == .incomplete)
        #expect(ChunkedScan.whole("FFFFFFFFFFFFFFF;x\r\n") == .incomplete)
    }

    @Test(arguments: [
        // Chunk data must be followed by CRLF exactly.
        ("5\r\nhelloX\r\n0\r\n\r\n", HTTPParseError.invalidChunkFraming),
        ("5\r\nhello\n0\r\n\r\n", .invalidChunkFraming),
        ("5\r\nhello\r0\r\n\r\n", .invalidChunkFraming),
        ("5\r\nhello0\r\n\r\n", .invalidChunkFraming),
        ("5\r\nhell\r\n0\r\n\r\n", .invalidChunkFraming),  // one byte short: the CR is data, `\n` is not CR
        // Size lines end in CRLF.
        ("5\nhello\r\n0\r\n\r\n", .invalidChunkSize),
        ("5\r\rhello", .invalidChunkFraming),
        ("5\r hello", .invalidChunkFraming),
        ("0\n\r\n", .invalidChunkSize),
        // Size: hex digits only, no prefix, no sign, no leading whitespace, at most 15 digits.
        ("g\r\n", .invalidChunkSize),
        ("G\r\n", .invalidChunkSize),
        ("5g\r\n", .invalidChunkSize),
        (" 5\r\n", .invalidChunkSize),
        ("\t5\r\n", .invalidChunkSize),
        ("0x10\r\n", .invalidChunkSize),
        ("0X10\r\n", .invalidChunkSize),
        ("-1\r\n", .invalidChunkSize),
        ("+1\r\n", .invalidChunkSize),
        ("\r\n", .invalidChunkSize),
        ("\n", .invalidChunkSize),
        (";ext\r\n", .invalidChunkSize),
        ("5,5\r\n", .invalidChunkSize),
        ("١\r\n", .invalidChunkSize),
        ("0000000000000001\r\n", .invalidChunkSize),  // 16 digits, small value: still refused
        ("ffffffffffffffff\r\n", .invalidChunkSize),
        ("10000000000000000\r\n", .invalidChunkSize),
        ("fffffffffffffffff0\r\n", .invalidChunkSize),  // would wrap a 64-bit size
        // Control characters in an extension.
        ("5;a=\u{1}\r\nhello\r\n0\r\n\r\n", .invalidChunkFraming),
        ("5;a\u{0}\r\nhello\r\n0\r\n\r\n", .invalidChunkFraming),
        ("5;\u{7F}\r\nhello\r\n0\r\n\r\n", .invalidChunkFraming),
        ("5;a\nhello\r\n0\r\n\r\n", .invalidChunkFraming),  // bare LF ends no extension (TERM-style desync)
        ("5;a\rhello\r\n0\r\n\r\n", .invalidChunkFraming),
        ("0;a\u{1B}\r\n\r\n", .invalidChunkFraming),
        // Trailer section.
        ("0\r\n\n", .invalidChunkFraming),
        ("0\r\n\r\r", .invalidChunkFraming),
        ("0\r\n\rX", .invalidChunkFraming),
        ("0\r\nX: y\n\r\n", .invalidChunkFraming),
        ("0\r\nX: y\r\r\n", .invalidChunkFraming),
        ("0\r\nX: y\rZ\r\n\r\n", .invalidChunkFraming),
        ("0\r\nX: \u{0}\r\n\r\n", .invalidChunkFraming),
        ("0\r\n X: y\r\n\r\n", .invalidChunkFraming),  // obs-fold
        ("0\r\n\tX: y\r\n\r\n", .invalidChunkFraming),
        ("0\r\n: y\r\n\r\n", .invalidChunkFraming),
        ("0\r\nX: y\r\n z\r\n\r\n", .invalidChunkFraming),
    ])
    func refusesBrokenFramingHoweverItIsRead(_ body: String, _ error: HTTPParseError) {
        let bytes = Array(body.utf8)
        #expect(ChunkedScan.whole(bytes) == .refused(error))
        #expect(ChunkedScan.byteByByte(bytes) == .refused(error))
        #expect(error.status == 400)
    }

    @Test(arguments: ["5 x\r\nhello\r\n0\r\n\r\n", "5\tx\r\nhello\r\n0\r\n\r\n", "5 5\r\nhello\r\n0\r\n\r\n", "0 0\r\n\r\n"])
    func refusesWhitespaceAfterTheSizeThatDoesNotLeadToAnExtension(_ body: String) {
        // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ) (RFC 9112 §7.1.1): after BWS
        // only `;` may follow. `5 5` read as 0x55 by a peer that skips spaces would be a desync.
        let outcome = ChunkedScan.whole(body)
        #expect(outcome == .refused(.invalidChunkSize) || outcome == .refused(.invalidChunkFraming), "got \(outcome)")
    }

    // MARK: - Trailer size limit

    /// `0\r\n`, trailer lines of the given lengths (each `X: ` and padding), then the final CRLF.
    private static func bodyWithTrailers(_ lengths: [Int]) -> [UInt8] {
        var body = Array("0\r\n".utf8)
        for length in lengths {
            body += Array("X: ".utf8) + Array(repeating: UInt8(ascii: "t"), count: length - 3) + [0x0D, 0x0A]
        }
        return body + [0x0D, 0x0A]
    }

    @Test func acceptsTrailersUpToTheLimit() {
        let limit = ChunkedBodyScanner.maximumTrailerBytes
        #expect(limit == 16 * 1024)
        // Each trailer line counts its bytes and its CR.
        let atLimit = Self.bodyWithTrailers([limit - 1])
        #expect(ChunkedScan.whole(atLimit) == .complete(consumed: atLimit.count))
        let split = Self.bodyWithTrailers([limit / 2 - 1, limit / 2 - 1])
        #expect(ChunkedScan.whole(split) == .complete(consumed: split.count))
    }

    @Test func refusesTrailersOverTheLimit() {
        let limit = ChunkedBodyScanner.maximumTrailerBytes
        let oneLine = Self.bodyWithTrailers([limit])
        #expect(ChunkedScan.whole(oneLine) == .refused(.trailersTooLarge))
        #expect(ChunkedScan.byteByByte(oneLine) == .refused(.trailersTooLarge))
        let manyLines = Self.bodyWithTrailers(Array(repeating: 100, count: 200))
        #expect(ChunkedScan.whole(manyLines) == .refused(.trailersTooLarge))
        // Refused as soon as the limit is crossed, before the trailer section ends.
        let endless = Array("0\r\nX: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 20_000)
        #expect(ChunkedScan.whole(endless) == .refused(.trailersTooLarge))
        #expect(HTTPParseError.trailersTooLarge.status == 400)
    }
}
