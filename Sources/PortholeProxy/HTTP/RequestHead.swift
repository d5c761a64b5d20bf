/// A parsed request head: byte ranges into the buffer it was parsed from, plus what the proxy needs
/// to route, authorise and frame the message. Parsing allocates nothing but the reused `fields` array.
@_spi(Benchmarks) public struct RequestHead: Sendable {
    public var method: Range<Int> = 0..<0
    public var target: Range<Int> = 0..<0
    public var version: HTTPVersion = .http11
    public var fields: [HeaderField] = []
    /// Index into `fields` of the Host field.
    public var hostField: Int?
    public var framing: MessageFraming = .none
    /// The client asked to close after this exchange (or is HTTP/1.0 without keep-alive).
    public var wantsClose = false
    /// `Connection: upgrade` with an `Upgrade` field: a WebSocket or other protocol switch.
    public var isUpgrade = false
    public var isHEAD = false
    public var isOPTIONS = false
    public var isGET = false
    /// `Expect: 100-continue`: the upstream answers the 100, the proxy just relays it.
    public var expectsContinue = false

    // No reservation up front: an idle connection that never sent a request holds no field storage.
    public init() {}

    /// Parses `bytes[0..<end]`, where `end` is just past the CRLFCRLF that ends the head.
    /// Reuses this value's storage so a keep-alive connection parses without allocating.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer, end: Int) throws(HTTPParseError) {
        fields.removeAll(keepingCapacity: true)
        hostField = nil
        framing = .none
        wantsClose = false
        isUpgrade = false
        expectsContinue = false

        // Request line: method SP request-target SP HTTP-version CRLF (RFC 9112 §3).
        var index = 0
        while index < end && ASCII.isToken(bytes[index]) { index += 1 }
        guard index > 0, index < end, bytes[index] == ASCII.space else { throw .malformedRequestLine }
        method = 0..<index
        index += 1
        let targetStart = index
        while index < end && ASCII.isTarget(bytes[index]) { index += 1 }
        guard index > targetStart, index < end, bytes[index] == ASCII.space else { throw .malformedRequestLine }
        target = targetStart..<index
        index += 1
        let versionStart = index
        while index < end && bytes[index] != ASCII.cr && bytes[index] != ASCII.lf { index += 1 }
        guard index + 1 < end, bytes[index] == ASCII.cr, bytes[index + 1] == ASCII.lf else {
            throw .malformedRequestLine
        }
        guard HTTPVersion.isWellFormed(bytes, versionStart..<index) else { throw .malformedRequestLine }
        guard let parsedVersion = HTTPVersion.parse(bytes, versionStart..<index) else { throw .unsupportedVersion }
        version = parsedVersion
        isGET = ASCII.equalsUppercase(bytes, method, "GET")
        isHEAD = !isGET && ASCII.equalsUppercase(bytes, method, "HEAD")
        isOPTIONS = !isGET && !isHEAD && ASCII.equalsUppercase(bytes, method, "OPTIONS")

        try HeaderFieldsParser.parse(bytes, from: index + 2, to: end, into: &fields)
        try interpretFields(bytes)
    }

    private mutating func interpretFields(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) {
        var contentLength: Int64?
        var transferEncoding: Range<Int>?
        var sawConnectionClose = false
        var sawKeepAlive = false
        var sawConnectionUpgrade = false
        var sawUpgradeField = false
        var sawConnectionOptions = false

        for index in fields.indices {
            let field = fields[index]
            switch field.kind {
            case .host:
                guard hostField == nil else { throw .duplicateHost }
                hostField = index
            case .contentLength:
                let value = try HeaderFieldsParser.contentLength(bytes, field.value)
                // Repeated identical lengths are tolerated (RFC 9110 §8.6); differing ones are smuggling.
                if let existing = contentLength, existing != value { throw .conflictingContentLength }
                contentLength = value
            case .transferEncoding:
                // A second Transfer-Encoding line is refused rather than merged: peers disagree on
                // merging, and any disagreement about framing is a smuggling vector.
                guard transferEncoding == nil, ASCII.lastListElementIsChunked(bytes, field.value) else {
                    throw .unsupportedTransferEncoding
                }
                transferEncoding = field.value
                framing = .chunked
            case .connection:
                sawConnectionOptions = true
                ASCII.forEachListElement(bytes, field.value) { option in
                    if ASCII.equalsLowercase(bytes, option, "close") {
                        sawConnectionClose = true
                    } else if ASCII.equalsLowercase(bytes, option, "keep-alive") {
                        sawKeepAlive = true
                    } else if ASCII.equalsLowercase(bytes, option, "upgrade") {
                        sawConnectionUpgrade = true
                    }
                }
            case .upgrade:
                sawUpgradeField = true
            case .expect:
                expectsContinue = ASCII.equalsLowercase(bytes, field.value, "100-continue")
            default:
                break
            }
        }

        if version == .http11 && hostField == nil { throw .missingHost }
        if transferEncoding != nil {
            if contentLength != nil { throw .contentLengthWithTransferEncoding }
            if version == .http10 { throw .transferEncodingInHTTP10 }
        } else if let contentLength, contentLength > 0 {
            framing = .contentLength(contentLength)
        }
        wantsClose = sawConnectionClose || (version == .http10 && !sawKeepAlive)
        isUpgrade = sawConnectionUpgrade && sawUpgradeField && version == .http11
        if sawConnectionOptions { HeaderFieldsParser.markConnectionOptions(bytes, &fields) }
    }
}

extension ASCII {
    /// Case-sensitive comparison for methods, which are case-sensitive tokens (RFC 9110 §9.1).
    @inline(__always)
    static func equalsUppercase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let start = literal.utf8Start
        var index = 0
        for position in range {
            if bytes[position] != start[index] { return false }
            index += 1
        }
        return true
    }

    /// True when the final element of a Transfer-Encoding list is `chunked` (RFC 9112 §6.1).
    static func lastListElementIsChunked(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        var last: Range<Int>?
        var chunkedCount = 0
        forEachListElement(bytes, range) { element in
            last = element
            if equalsLowercase(bytes, element, "chunked") { chunkedCount += 1 }
        }
        guard let last, chunkedCount == 1 else { return false }
        return equalsLowercase(bytes, last, "chunked")
    }
}
