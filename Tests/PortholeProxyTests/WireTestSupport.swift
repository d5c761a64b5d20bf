import PortholeTestSupport
import NIOCore
@_spi(Benchmarks) @testable import PortholeProxy
import Testing

/// A head as it arrives on the wire: start line and field lines joined with CRLF, ending in the empty line.
func wireHead(_ lines: String...) -> String {
    lines.map { $0 + "\r\n" }.joined() + "\r\n"
}

/// Same as `wireHead`, for lines that carry bytes a Swift string cannot (obs-text that is not UTF-8).
func wireHeadBytes(_ lines: [UInt8]...) -> [UInt8] {
    lines.flatMap { $0 + [0x0D, 0x0A] } + [0x0D, 0x0A]
}

/// A request head parsed from test bytes, kept with those bytes so its ranges can be read back as text.
struct ParsedRequest {
    /// Exactly the head: every byte up to and including the terminating CRLFCRLF.
    var bytes: [UInt8]
    var head: RequestHead

    func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    var method: String { text(head.method) }
    var target: String { text(head.target) }
    var names: [String] { head.fields.map { text($0.name) } }

    func values(_ kind: HeaderField.Kind) -> [String] {
        head.fields.filter { $0.kind == kind }.map { text($0.value) }
    }

    func field(named name: String) -> HeaderField? {
        head.fields.first { text($0.name).lowercased() == name.lowercased() }
    }
}

/// A response head parsed from test bytes.
struct ParsedResponse {
    var bytes: [UInt8]
    var head: ResponseHead

    func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    func field(named name: String) -> HeaderField? {
        head.fields.first { text($0.name).lowercased() == name.lowercased() }
    }
}

/// `ASCII.HeadEnd`, comparable in one `#expect`.
enum HeadEndResult: Equatable, Sendable {
    case incomplete
    case complete(Int)
    case bareLineFeed
}

/// What a parser made of a head, comparable in one `#expect`.
enum HeadOutcome: Equatable, CustomStringConvertible {
    case accepted(MessageFraming)
    case refused(HTTPParseError)

    var description: String {
        switch self {
        case .accepted(let framing): "accepted(\(framing))"
        case .refused(let error): "refused(\(error.status): \(error))"
        }
    }
}

/// Parsing entry points for tests: find the head end the way the proxy does, then parse.
enum Wire {
    /// Index just past the first CRLFCRLF: the `end` the parsers are given. Found here by a plain
    /// search, not `ASCII.headEnd`, so the parsers' own line-end checks are tested on their own.
    static func firstCRLFCRLF(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count
        where bytes[index] == 0x0A && bytes[index - 1] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D {
            return index + 1
        }
        return nil
    }

    /// `RequestHead.parse` alone, given the head's end.
    static func parseRequest(_ bytes: [UInt8]) -> Result<ParsedRequest, HTTPParseError> {
        bytes.withUnsafeBytes { raw in
            guard let end = firstCRLFCRLF(bytes) else {
                Issue.record("test input has no CRLFCRLF: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                return .failure(.malformedRequestLine)
            }
            var head = RequestHead()
            do throws(HTTPParseError) {
                try head.parse(raw, end: end)
                return .success(ParsedRequest(bytes: Array(bytes[..<end]), head: head))
            } catch {
                return .failure(error)
            }
        }
    }

    static func parseRequest(_ text: String) -> Result<ParsedRequest, HTTPParseError> {
        parseRequest(Array(text.utf8))
    }

    /// The parsed head; a refusal is thrown so `try` in a test reports it.
    static func request(_ text: String) throws -> ParsedRequest {
        try parseRequest(text).get()
    }

    static func requestOutcome(_ text: String) -> HeadOutcome {
        requestOutcome(Array(text.utf8))
    }

    static func requestOutcome(_ bytes: [UInt8]) -> HeadOutcome {
        switch parseRequest(bytes) {
        case .success(let parsed): .accepted(parsed.head.framing)
        case .failure(let error): .refused(error)
        }
    }

    /// What the proxy does with bytes from a client: find the head end (refusing bare LF there), then parse.
    static func receiveRequest(_ bytes: [UInt8]) -> HeadOutcome {
        switch headEnd(bytes) {
        case .incomplete:
            Issue.record("test input has no complete head: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            return .refused(.malformedRequestLine)
        case .bareLineFeed:
            return .refused(.bareLineFeedOrCarriageReturn)
        case .complete(let end):
            return requestOutcome(Array(bytes[..<end]))
        }
    }

    static func receiveRequest(_ text: String) -> HeadOutcome {
        receiveRequest(Array(text.utf8))
    }

    static func headEnd(_ bytes: [UInt8]) -> HeadEndResult {
        bytes.withUnsafeBytes { raw in
            switch ASCII.headEnd(raw) {
            case .incomplete: .incomplete
            case .complete(let end): .complete(end)
            case .bareLineFeed: .bareLineFeed
            }
        }
    }

    static func parseResponse(_ bytes: [UInt8], requestWasHEAD: Bool = false) -> Result<ParsedResponse, HTTPParseError> {
        bytes.withUnsafeBytes { raw in
            guard let end = firstCRLFCRLF(bytes) else {
                Issue.record("test input has no CRLFCRLF: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                return .failure(.malformedStatusLine)
            }
            var head = ResponseHead()
            do throws(HTTPParseError) {
                try head.parse(raw, end: end, requestWasHEAD: requestWasHEAD)
                return .success(ParsedResponse(bytes: Array(bytes[..<end]), head: head))
            } catch {
                return .failure(error)
            }
        }
    }

    static func response(_ text: String, requestWasHEAD: Bool = false) throws -> ParsedResponse {
        try parseResponse(Array(text.utf8), requestWasHEAD: requestWasHEAD).get()
    }

    static func responseOutcome(_ text: String, requestWasHEAD: Bool = false) -> HeadOutcome {
        switch parseResponse(Array(text.utf8), requestWasHEAD: requestWasHEAD) {
        case .success(let parsed): .accepted(parsed.head.framing)
        case .failure(let error): .refused(error)
        }
    }

    /// The head `RequestHeadWriter` sends upstream for `parsed`.
    static func forward(_ parsed: ParsedRequest, rewrite: ForwardingRewrite = .example) -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: parsed.bytes.count + 256)
        parsed.bytes.withUnsafeBytes { raw in
            RequestHeadWriter.write(parsed.head, from: raw, rewrite: rewrite, into: &buffer)
        }
        return Array(buffer.readableBytesView)
    }

    static func forward(_ text: String, rewrite: ForwardingRewrite = .example) throws -> String {
        String(decoding: forward(try request(text), rewrite: rewrite), as: UTF8.self)
    }

    /// The head `ResponseHeadWriter` sends to the client for `parsed`.
    static func rewriteResponse(_ parsed: ParsedResponse, closingClient: Bool) -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: parsed.bytes.count + 32)
        parsed.bytes.withUnsafeBytes { raw in
            ResponseHeadWriter.write(parsed.head, from: raw, end: parsed.bytes.count, closingClient: closingClient, into: &buffer)
        }
        return Array(buffer.readableBytesView)
    }
}

extension ForwardingRewrite {
    /// A TLS listener on 443 forwarding a client at 203.0.113.7 to port 3000 of its sandbox.
    static var example: ForwardingRewrite {
        ForwardingRewrite(
            clientAddress: "203.0.113.7",
            trustForwardedFields: false,
            scheme: "https",
            listenerPort: "443",
            rewriteHostToLocalhost: false,
            upstreamPort: 3000,
            strippedTarget: nil
        )
    }

    /// Everything that makes a forwarded head longer: the Host rewritten, the longest port and
    /// client address, a replaced target, a trusted peer's fields kept and merged.
    static var growing: ForwardingRewrite {
        ForwardingRewrite(
            clientAddress: "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            trustForwardedFields: true,
            scheme: "https",
            listenerPort: "65535",
            rewriteHostToLocalhost: true,
            upstreamPort: 65535,
            strippedTarget: "/stripped?x=1"
        )
    }

    /// The same, from a peer in the trusted-proxy list: its X-Forwarded-* fields are kept.
    static var trusted: ForwardingRewrite {
        var rewrite = example
        rewrite.trustForwardedFields = true
        return rewrite
    }
}

/// How a chunked body scan ended, comparable across ways of feeding the same bytes.
enum ScanOutcome: Equatable, CustomStringConvertible {
    /// The last chunk and trailers were seen after this many bytes.
    case complete(consumed: Int)
    /// Every byte was taken and the body is still open.
    case incomplete
    case refused(HTTPParseError)

    var description: String {
        switch self {
        case .complete(let consumed): "complete(consumed: \(consumed))"
        case .incomplete: "incomplete"
        case .refused(let error): "refused(\(error))"
        }
    }
}

enum ChunkedScan {
    /// Feeds `bytes` to one scanner in pieces cut at `cuts` (sorted offsets), as reads would arrive.
    static func scan(_ bytes: [UInt8], cuts: [Int]) -> ScanOutcome {
        var scanner = ChunkedBodyScanner()
        var consumed = 0
        var start = 0
        for end in cuts + [bytes.count] where end >= start {
            let piece = bytes[start..<end]
            start = end
            do {
                let taken = try piece.withUnsafeBytes { try scanner.scan($0) }
                consumed += taken
                if scanner.isComplete { return .complete(consumed: consumed) }
                // An open body owns every byte it was shown.
                if taken != piece.count {
                    Issue.record("incomplete scan took \(taken) of \(piece.count) bytes")
                }
            } catch let error as HTTPParseError {
                return .refused(error)
            } catch {
                Issue.record("unexpected error \(error)")
                return .incomplete
            }
        }
        return .incomplete
    }

    static func whole(_ bytes: [UInt8]) -> ScanOutcome { scan(bytes, cuts: []) }

    static func byteByByte(_ bytes: [UInt8]) -> ScanOutcome { scan(bytes, cuts: Array(0..<bytes.count)) }

    static func whole(_ text: String) -> ScanOutcome { whole(Array(text.utf8)) }
}
