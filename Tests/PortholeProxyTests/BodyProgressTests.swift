@_spi(Benchmarks) @testable import PortholeProxy
import Testing

/// How much of each read belongs to the body in flight, for every framing.
@Suite struct BodyProgressTests {
    /// Feeds `reads` in order and returns how many bytes of each the body took.
    private static func takes(_ framing: MessageFraming, _ reads: [String]) throws -> (taken: [Int], complete: Bool) {
        var progress = BodyProgress(framing)
        var taken: [Int] = []
        for read in reads {
            let bytes = Array(read.utf8)
            taken.append(try bytes.withUnsafeBytes { try progress.consume($0) })
        }
        return (taken, progress.isComplete)
    }

    @Test func noBodyTakesNothing() throws {
        let progress = BodyProgress(.none)
        #expect(progress.isComplete && !progress.isUntilClose)
        let result = try Self.takes(.none, ["GET / HTTP/1.1\r\n"])
        #expect(result.taken == [0] && result.complete)
        #expect(BodyProgress(.contentLength(0)).isComplete)
    }

    @Test(arguments: [
        // (length, reads, taken per read, complete)
        (10 as Int64, ["0123456789"], [10], true),
        (10, ["012", "3456", "789"], [3, 4, 3], true),
        (10, ["012", "3456", "789GET / HTTP/1.1"], [3, 4, 3], true),
        (10, ["0123456789GET"], [10], true),
        (10, ["0123", "", "45678"], [4, 0, 5], false),
        (10, ["01234567", "89", "next"], [8, 2, 0], true),
        (1, ["ab"], [1], true),
    ])
    func contentLengthTakesExactlyItsBytesAcrossReads(_ length: Int64, _ reads: [String], _ taken: [Int], _ complete: Bool) throws {
        let result = try Self.takes(.contentLength(length), reads)
        #expect(result.taken == taken)
        #expect(result.complete == complete)
    }

    @Test func hugeContentLengthNeverOverflows() throws {
        var progress = BodyProgress(.contentLength(Int64.max))
        let read = [UInt8](repeating: 0x41, count: 65_536)
        for _ in 0..<4 {
            #expect(try read.withUnsafeBytes { try progress.consume($0) } == read.count)
        }
        #expect(!progress.isComplete)
    }

    @Test func untilCloseTakesEverythingAndNeverCompletes() throws {
        #expect(BodyProgress(.untilClose).isUntilClose)
        let result = try Self.takes(.untilClose, ["abc", "", "HTTP/1.1 200 OK\r\n\r\n"])
        #expect(result.taken == [3, 0, 19])
        #expect(!result.complete)
    }

    @Test func chunkedFollowsTheScannerAcrossReads() throws {
        let result = try Self.takes(.chunked, ["5\r\nhe", "llo\r", "\n0\r\n", "\r", "\nGET / HTTP/1.1\r\n"])
        #expect(result.taken == [5, 4, 4, 1, 1])
        #expect(result.complete)
        #expect(!BodyProgress(.chunked).isComplete)
    }

    @Test func chunkedRefusalIsThrown() {
        var progress = BodyProgress(.chunked)
        let bytes = Array("5\r\nhelloXX".utf8)
        #expect(throws: HTTPParseError.invalidChunkFraming) {
            try bytes.withUnsafeBytes { try progress.consume($0) }
        }
    }

    @Test func pipelinedRequestsSplitAtTheirBodies() throws {
        // Two requests in one read: the first body's framing says exactly where the second head starts.
        for (first, body) in [
            ("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", "hello"),
            ("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n"),
        ] {
            let second = "GET /b HTTP/1.1\r\nHost: a\r\n\r\n"
            let stream = Array((first + body + second).utf8)
            let parsed = try Wire.parseRequest(stream).get()
            var progress = BodyProgress(parsed.head.framing)
            let rest = Array(stream[parsed.bytes.count...])
            let taken = try rest.withUnsafeBytes { try progress.consume($0) }
            #expect(progress.isComplete)
            #expect(taken == body.utf8.count)
            let next = try Wire.parseRequest(Array(rest[taken...])).get()
            #expect(next.method == "GET" && next.target == "/b")
        }
    }
}
